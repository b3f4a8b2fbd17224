"""Input handling and output, over the real CLI (issue 12).

- A misspelt key in a ``[[targets]]`` entry is named as such, with the key it should be; targets are
  numbered one way (``config.toml:[[targets]]#2``, 1-based) in every message.
- One bad target is reported as a failed target and the others are scanned (exit 1); exit 2 stays for a
  run that cannot start.
- Single-quoted ``.env`` values are literal, as in shells and Docker Compose.
- Text from outside that looks like rich markup is shown as it is; narrow terminals and pipes get a layout
  that keeps every value whole.
"""

from __future__ import annotations

import json
import re

from conftest import catalog_env

from scanner.testing.fake_superset import FakeSuperset, FakeUser

GOOD = '[[targets]]\nplatform = "custom"\ninstance = "good"\nurl = "{url}"\n'


def _by_origin(doc: dict) -> dict[str, dict]:
    return {t["origin"]: t for t in doc["targets"]}


def test_misspelt_target_key_is_named_with_its_fix_and_the_rest_is_scanned(run_cli, tmp_path, web, catalog):
    (tmp_path / "config.toml").write_text(
        GOOD.format(url=web.url)
        + '[[targets]]\nplatform = "looker"\nurl = "http://127.0.0.1:9"\nclient_id = "abc"\nclientSecret = "s"\n'
    )
    result = run_cli("scan", "--output", "json", env=catalog_env(catalog))
    assert result.code == 1, (result.stdout, result.stderr)
    targets = _by_origin(json.loads(result.stdout))
    bad = targets["config.toml:[[targets]]#2"]
    assert bad["status"] == "error" and bad["steps"] == [] and bad["taken"] == "skipped"
    assert ("config.toml:[[targets]]#2.client_id: unknown key 'client_id' (did you mean 'clientId'?)"
            in bad["message"]), bad["message"]
    assert "missing" not in bad["message"]  # the cause, not its consequence
    good = targets["config.toml:[[targets]]#1"]
    assert (good["status"], good["taken"]) == ("ok", "created")
    assert [c.json["name"] for c in catalog.calls("PUT")] == ["custom_good"]


def test_targets_are_numbered_one_way_in_every_message(run_cli, tmp_path, web):
    (tmp_path / "config.toml").write_text(
        GOOD.format(url=web.url)
        + '[[targets]]\nplatform = "superset"\nurl = "http://127.0.0.1:9"\nusername = "a"\n'
          'password = "${NOT_SET_ANYWHERE}"\n'
        + f'[[targets]]\nplatform = "custom"\ninstnace = "ops"\nurl = "{web.url}/ops"\n'
    )
    result = run_cli("scan", "--output", "json", "--no-inventory")
    assert result.code == 1, (result.stdout, result.stderr)
    targets = _by_origin(json.loads(result.stdout))
    assert targets["config.toml:[[targets]]#1"]["status"] == "ok"
    assert ("config.toml:[[targets]]#2.password: ${NOT_SET_ANYWHERE} is not set"
            in targets["config.toml:[[targets]]#2"]["message"])
    assert ("config.toml:[[targets]]#3.instnace: unknown key 'instnace' (did you mean 'instance'?)"
            in targets["config.toml:[[targets]]#3"]["message"])
    assert not re.search(r"targets\[\d", result.stdout + result.stderr)  # no 0-based "targets[1]" anywhere


def test_one_bad_env_instance_is_reported_and_the_others_scanned(run_cli, tmp_path, catalog):
    with FakeSuperset(users={"admin": FakeUser("admin-pw")}) as superset:
        env = {**catalog_env(catalog),
               "SUPERSET_URL__GOOD": superset.url, "SUPERSET_USERNAME__GOOD": "admin",
               "SUPERSET_PASSWORD__GOOD": "admin-pw",
               "SUPERSET_URL__BAD": "superset.example.com", "SUPERSET_USERNAME__BAD": "admin",
               "SUPERSET_PASSWORD__BAD": "admin-pw"}
        result = run_cli("scan", env=env)
    assert result.code == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "scanner: error" not in result.stderr
    bad = [line for line in result.stdout.splitlines() if line.startswith("✗ superset_bad: ")]
    assert len(bad) == 1 and "invalid settings: env:SUPERSET_URL__BAD" in bad[0] and "has no scheme" in bad[0]
    assert [c.json["name"] for c in catalog.calls("PUT")] == ["superset_good"]
    assert "error 1, ok 1" in result.stdout


def test_an_invalid_target_keeps_prune_from_deleting(run_cli, tmp_path, web, catalog):
    (tmp_path / "config.toml").write_text(
        GOOD.format(url=web.url) + '[[targets]]\nplatform = "custom"\nurl = "http://127.0.0.1:9"\nsourcePythonClas = "x"\n'
    )
    result = run_cli("scan", "--prune", "--output", "json", env=catalog_env(catalog))
    assert result.code == 1, (result.stdout, result.stderr)
    doc = json.loads(result.stdout)
    assert "ended as error" in doc["prune"]["refused"]  # the run may be missing that target's service
    assert catalog.calls("DELETE") == []


def test_scanner_config_lists_an_invalid_target_with_its_problem(run_cli, tmp_path, web):
    (tmp_path / "config.toml").write_text(
        GOOD.format(url=web.url) + '[[targets]]\nplatform = "custom"\nurl = "ftp://127.0.0.1"\n'
    )
    result = run_cli("config", "--output", "json")
    assert result.code == 1, (result.stdout, result.stderr)
    rows = {t["origin"]: t for t in json.loads(result.stdout)["targets"]}
    assert rows["config.toml:[[targets]]#1"]["error"] is None
    assert "must start with http:// or https://" in rows["config.toml:[[targets]]#2"]["error"]


def test_single_quoted_env_values_are_literal(run_cli, tmp_path, catalog):
    literal = "p${SECRET_PART}w$x"  # a password that happens to contain ${...}
    users = {"admin": FakeUser(literal), "two": FakeUser("zzz-2")}
    with FakeSuperset(users=users) as superset:
        (tmp_path / ".env").write_text(
            "SECRET_PART=zzz\n"
            f"SUPERSET_URL={superset.url}\nSUPERSET_USERNAME=admin\nSUPERSET_PASSWORD='{literal}'\n"
            f"SUPERSET_URL__TWO={superset.url}\nSUPERSET_USERNAME__TWO=two\n"
            'SUPERSET_PASSWORD__TWO="${SECRET_PART}-2"\n'  # double quotes still expand, as python-dotenv does
        )
        result = run_cli("scan", "--output", "json", env=catalog_env(catalog))
        port = superset.url.rsplit(":", 1)[1]
    assert result.code == 0, (result.stdout, result.stderr)
    statuses = {t["service_name"]: t["status"] for t in json.loads(result.stdout)["targets"]}
    assert statuses == {f"superset_127_0_0_1_{port}": "ok", "superset_two": "ok"}, statuses
    assert literal not in result.stdout + result.stderr


def test_markup_like_text_is_shown_as_it_is(run_cli, tmp_path, web, catalog):
    (tmp_path / "config.toml").write_text(
        '[service]\ndescription = "[bold]ops[/bold] team"\n'
        f'[[targets]]\nplatform = "custom"\nname = "custom_markup"\nurl = "{web.url}/svc[/]"\n'
        f'[[targets]]\nplatform = "custom"\nname = "custom_markup_2"\nurl = "{web.url}/[red]x"\n'
    )
    result = run_cli("scan", env=catalog_env(catalog))
    assert result.code == 0, (result.stdout, result.stderr)
    assert f"{web.url}/svc[/]" in result.stdout and f"{web.url}/[red]x" in result.stdout
    assert "internal error" not in result.stderr
    config = run_cli("config")
    assert config.code == 0, config.stderr
    assert "[bold]ops[/bold] team" in config.stdout


def test_narrow_or_piped_output_keeps_every_value_whole(run_cli, tmp_path, web):
    url = f"{web.url}/a/rather/long/path/to/the/dashboards"
    (tmp_path / "config.toml").write_text(
        f'[[targets]]\nplatform = "custom"\ninstance = "finance_reporting_emea"\nurl = "{url}"\n'
    )
    narrow = {"COLUMNS": "80"}
    result = run_cli("scan", "--no-inventory", env=narrow)
    assert result.code == 0, (result.stdout, result.stderr)
    lines = result.stdout.splitlines()
    assert any("custom_finance_reporting_emea" in line and " ok" in line for line in lines), result.stdout
    assert any(url in line for line in lines), result.stdout
    assert any("not registered (no catalog)" in line for line in lines), result.stdout
    plugins = run_cli("plugins", env=narrow)
    assert plugins.code == 0
    lines = plugins.stdout.splitlines()
    assert sum("enabled" in line for line in lines) >= 4, plugins.stdout  # not "en/ab/le/d"
    assert any("LOOKERSDK_CLIENT_SECRET" in line for line in lines)
    assert all(len(line) <= 80 for line in lines if "│" in line)  # a table, if any, fits the width


def test_inventory_and_history_show_markup_like_text_as_it_is_and_stay_whole_when_narrow(run_cli, tmp_path, web):
    inv = str(tmp_path / "inv.sqlite3")
    urls = (f"{web.url}/svc[/]", f"{web.url}/[bold]x[/bold]/a/rather/long/path/to/the/dashboards")
    (tmp_path / "config.toml").write_text(
        f'[[targets]]\nplatform = "custom"\nname = "custom_markup"\nurl = "{urls[0]}"\n'
        f'[[targets]]\nplatform = "custom"\nname = "custom_markup_2"\nurl = "{urls[1]}"\n'
    )
    assert run_cli("scan", "--inventory", inv).code == 0
    for env in ({}, {"COLUMNS": "80"}):  # a table at 200 columns; one block per row at 80
        listing = run_cli("inventory", "--inventory", inv, env=env)
        history = run_cli("history", "custom_markup_2", "--inventory", inv, env=env)
        for result in (listing, history):
            assert result.code == 0 and "internal error" not in result.stderr, (env, result.stdout, result.stderr)
            lines = result.stdout.splitlines()
            assert any(urls[1] in line for line in lines), (env, result.stdout)  # not eaten, not folded
            assert all(len(line) <= int(env.get("COLUMNS", 200)) for line in lines if "│" in line)
        lines = listing.stdout.splitlines()
        assert any(urls[0] in line for line in lines), (env, listing.stdout)
        assert "custom_markup_2" in listing.stdout
        assert any("not registered (no catalog)" in line for line in history.stdout.splitlines()), history.stdout


def test_jsonl_output_is_one_json_document_per_line_for_one_shot_runs(run_cli, tmp_path, web):
    (tmp_path / "config.toml").write_text(GOOD.format(url=web.url))
    log = tmp_path / "scanner.jsonl"
    for _ in range(2):  # the README's cron line: each run appends one line
        result = run_cli("scan", "-q", "--output", "jsonl", "--no-inventory")
        assert result.code == 0, (result.stdout, result.stderr)
        assert result.stdout.count("\n") == 1 and result.stdout.endswith("}\n"), result.stdout
        with log.open("a") as f:
            f.write(result.stdout)
    runs = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(runs) == 2 and all(r["format_version"] == 1 and r["exit_code"] == 0 for r in runs)
    assert [t["status"] for t in runs[1]["targets"]] == ["ok"]
    pretty = run_cli("scan", "--output", "json", "--no-inventory")  # json stays one indented document
    assert pretty.stdout.count("\n") > 10 and json.loads(pretty.stdout)["format_version"] == 1
    assert "jsonl" in run_cli("scan", "--help").stdout


def test_json_reports_are_streamed_and_stay_one_json_document(run_cli, tmp_path):
    """Up to 500 targets the report is json.dumps(indent=2) exactly; above, one compact line per target inside
    the indented document; jsonl is the compact document on one line. Always the same JSON."""
    def run(n: int, output: str) -> str:
        blocks = [f'[[targets]]\nplatform = "custom"\ninstance = "t{i}"\nurl = "http://127.0.0.1:9/{i}"\n'
                  for i in range(n)]
        (tmp_path / "config.toml").write_text("\n".join(blocks))
        result = run_cli("scan", "--output", output, "--run-deadline", "0.001", "--no-inventory")
        assert result.code == 1, result.stderr  # every target: run deadline reached
        return result.stdout

    small = run(3, "json")
    assert small == json.dumps(json.loads(small), indent=2) + "\n"
    big = run(501, "json")
    doc = json.loads(big)
    assert len(doc["targets"]) == 501 and doc["totals"]["targets"] == 501
    lines = big.splitlines()
    assert sum(line.startswith('    {"platform": "custom"') for line in lines) == 501
    assert lines[:2] == ["{", '  "format_version": 1,'] and lines[-1] == "}"
    one_line = run(501, "jsonl")
    assert one_line.count("\n") == 1 and one_line == json.dumps(json.loads(one_line), separators=(",", ":")) + "\n"
