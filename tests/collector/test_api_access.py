"""Who may read and change what through the API, and the trace it leaves (issue 20), on both
stores: /metrics behind a token, every admin change in the audit log with its actor (/docs
without a CDN under the console's CSP: test_docs_ui.py)."""

from __future__ import annotations

from pydantic import SecretStr
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from collector.schema import audit_log
from collector.settings import Settings
from province.cli import app as cli
from tests.hardening.inprocess import running_collector

ADMIN = {"Authorization": "Bearer admin-secret"}


async def test_metrics_can_require_a_token(engine: Engine, settings: Settings) -> None:
    async with running_collector(
        engine, settings, metrics_token=SecretStr("scrape-secret")
    ) as collector:
        assert (await collector.client.get("/metrics")).status_code == 401
        wrong = await collector.client.get("/metrics", headers={"Authorization": "Bearer no"})
        assert wrong.status_code == 401
        assert "agent_id" not in wrong.text
        shown = await collector.client.get(
            "/metrics", headers={"Authorization": "Bearer scrape-secret"}
        )
        assert shown.status_code == 200
        assert "cm_ingest_requests_total" in shown.text
    # Without the setting /metrics stays open (a scraper on a trusted network).
    async with running_collector(engine, settings) as collector:
        assert (await collector.client.get("/metrics")).status_code == 200


async def test_admin_changes_through_the_api_and_the_cli_are_audited(
    engine: Engine, settings: Settings
) -> None:
    async with running_collector(engine, settings) as collector:
        agent = await collector.enrol()
        config = await collector.client.put(
            f"/api/v1/agents/{agent.agent_id}/config", json={}, headers=ADMIN
        )
        assert config.status_code == 200, config.text
        revoked = await collector.client.post(
            f"/api/v1/agents/{agent.agent_id}/revoke", headers=ADMIN
        )
        assert revoked.status_code == 204
    url = engine.url.render_as_string(hide_password=False)
    other = CliRunner().invoke(
        cli, ["--database-url", url, "agents", "rotate-token", agent.agent_id]
    )
    assert other.exit_code != 0  # revoked: nothing to rotate, nothing audited
    token = CliRunner().invoke(
        cli, ["--database-url", url, "enrol-token", "create", "--commune", _commune(engine)]
    )
    assert token.exit_code == 0, token.output
    with engine.connect() as conn:
        lines = [
            (row.actor, row.action, row.target)
            for row in conn.execute(select(audit_log).order_by(audit_log.c.id))
        ]
    assert ("admin-token", "agent_config_set", f"agent:{agent.agent_id}") in lines
    assert ("admin-token", "agent_revoked", f"agent:{agent.agent_id}") in lines
    enrolled = [line for line in lines if line[1] == "agent_enrolled"]
    assert enrolled[0][0].startswith("enrol-token:")
    created = [line for line in lines if line[1] == "enrol_token_created"]
    assert created[-1][0].startswith("cli:")
    assert not [line for line in lines if line[1] == "agent_token_rotated"]


def _commune(engine: Engine) -> str:
    from tests.agent.support import first_commune

    return first_commune(engine)
