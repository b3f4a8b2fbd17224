"""Outside text stays one readable line: a huge URL (or anything a step quotes) is masked, then cut in the report."""

from __future__ import annotations

import json

from scanner.probe import MESSAGE_LIMIT


def test_a_huge_url_is_cut_in_messages_but_kept_whole_as_the_url(run_cli, web):
    url = f"{web.url}/{'a' * 100_000}"
    secret = "long-text-secret-8c1d"
    result = run_cli("scan", "--dry-run", "--output", "json",
                     env={"SUPERSET_URL__LONG": url, "SUPERSET_USERNAME__LONG": "u", "SUPERSET_PASSWORD__LONG": secret})
    assert result.code == 1, result.stderr
    [target] = json.loads(result.stdout)["targets"]
    assert target["status"] == "not_detected"
    texts = [target["message"], target["hint"], *(s["message"] for s in target["steps"]),
             *(s["hint"] for s in target["steps"])]
    texts = [t for t in texts if t]
    assert max(map(len, texts)) <= MESSAGE_LIMIT + len("Fingerprint: ")
    assert any(t.endswith("…") for t in texts)
    assert target["url"] == url  # the address itself is not cut
    assert secret not in result.stdout + result.stderr
    assert len(result.stdout) < 300_000  # the URL in its own fields (target, drift), not in every message
