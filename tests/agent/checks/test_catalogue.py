"""The metric and event catalogue of the PC checks (agent/checks/metrics.yaml)."""

from __future__ import annotations

from agent.catalogue import load_catalogue


def test_catalogue_is_well_formed_and_bilingual():
    catalogue = load_catalogue()
    checks = {m.check for m in catalogue.metrics}
    # "agent" holds the runner's own metrics (spool depth, send failures).
    assert checks == {"agent", "host", "http_probe", "local_service", "ping", "signing", "tokens"}
    for metric in catalogue.metrics:
        assert not metric.help.vi.isascii()
        assert metric.help.en != metric.help.vi
