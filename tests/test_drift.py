"""Drift rules on plain records (the inventory applies them inside one transaction per run)."""

from __future__ import annotations

import json

from scanner.inventory.drift import Known, Observation, diff


def seen(name: str, *, platform: str = "looker", status: str = "ok", version: str | None = "1.0",
         config: str | None = "h1", url: str = "http://a") -> Observation:
    return Observation(name, platform, url, status, version, config)


def run(known, observations, platforms=("looker", "tableau"), gone_after=3):
    events, state = diff(known, observations, set(platforms), gone_after)
    return [(e.service_name, e.kind, e.detail) for e in events], state


def test_new_then_unchanged():
    events, state = run({}, [seen("a")])
    assert events == [("a", "new", {"status": "ok", "version": "1.0"})]
    events, _ = run(state, [seen("a")])
    assert events == []


def test_changed_lists_fields_and_hides_hashes():
    _, state = run({}, [seen("a")])
    events, state = run(state, [seen("a", version="1.1", config="h2", url="http://b")])
    assert events == [("a", "changed", {"version": ["1.0", "1.1"], "url": ["http://a", "http://b"], "config": True})]
    events, _ = run(state, [seen("a", version="1.1", config="h2", url="http://b", status="auth_failed")])
    assert events == [("a", "changed", {"status": ["ok", "auth_failed"]})]


def test_a_failed_probe_is_not_a_config_or_version_change():
    _, state = run({}, [seen("a")])
    events, state = run(state, [seen("a", status="unreachable", version=None, config=None)])
    assert events == [("a", "changed", {"status": ["ok", "unreachable"]})]
    assert state["a"].config_hash == "h1" and state["a"].version == "1.0"  # the last known values are kept
    events, _ = run(state, [seen("a")])
    assert events == [("a", "changed", {"status": ["unreachable", "ok"]})]


def test_gone_after_n_consecutive_runs_then_recovered():
    _, state = run({}, [seen("a"), seen("b")])
    for missing in (1, 2):
        events, state = run(state, [seen("a")])
        assert events == [] and state["b"].missing_runs == missing and state["b"].state == "present"
    events, state = run(state, [seen("a")])
    assert events == [("b", "gone", {"missing_runs": 3})] and state["b"].state == "gone"
    events, state = run(state, [seen("a")])
    assert events == []  # gone is reported once
    events, state = run(state, [seen("a"), seen("b")])
    assert events == [("b", "recovered", {"missing_runs": 3})]
    assert state["b"].state == "present" and state["b"].missing_runs == 0


def test_a_run_that_skips_a_platform_says_nothing_about_its_targets():
    _, state = run({}, [seen("a"), seen("t", platform="tableau")])
    for _ in range(5):
        events, state = run(state, [seen("a")], platforms=("looker",))
    assert events == [] and state["t"].missing_runs == 0 and state["t"].state == "present"


def test_reappearing_before_n_resets_the_count():
    _, state = run({}, [seen("a")])
    _, state = run(state, [], gone_after=2)
    assert state["a"].missing_runs == 1
    _, state = run(state, [seen("a")], gone_after=2)
    events, state = run(state, [], gone_after=2)
    assert events == [] and state["a"].missing_runs == 1


def test_known_state_is_not_modified_in_place():
    known = {"a": Known("a", "looker", "http://a", "ok", "1.0", "h1")}
    run(known, [])
    assert known["a"].missing_runs == 0


def test_a_dry_run_shows_drift_but_records_none_of_it(tmp_path, run_cli, web):
    """A dry run reports what changed since the last real run, and the next real run still reports it."""
    inv = tmp_path / "dry.sqlite3"
    config = tmp_path / "config.toml"

    def scan(names, *args):
        config.write_text("".join(f'[[targets]]\nplatform = "custom"\nname = "custom_{n}"\nurl = "{web.url}/{n}"\n'
                                  for n in names))
        result = run_cli("scan", "--config", str(config), "--output", "json", "--inventory", str(inv),
                         "--gone-after", "1", *args)
        assert result.code == 0, result.stderr
        return sorted((d["service_name"], d["kind"]) for d in json.loads(result.stdout)["drift"])

    assert scan(["a", "b"]) == [("custom_a", "new"), ("custom_b", "new")]
    expected = [("custom_b", "gone"), ("custom_c", "new")]
    assert scan(["a", "c"], "--dry-run") == expected
    assert scan(["a", "c"], "--dry-run") == expected  # the first dry run consumed nothing
    assert scan(["a", "c"]) == expected
    history = run_cli("history", "custom_a", "--inventory", str(inv), "--output", "json")
    assert history.code == 0, history.stderr
    assert len(json.loads(history.stdout)["timeline"]) == 2  # the two real runs, not the dry ones
