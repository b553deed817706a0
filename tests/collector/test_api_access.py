"""The trace changes leave (issue 20), on both stores: every admin change through the API and
the CLI in the audit log with its actor (/metrics behind a token: test_api.py; /docs without a
CDN under the console's CSP: test_docs_ui.py)."""

from __future__ import annotations

from sqlalchemy import Engine, select
from typer.testing import CliRunner

from collector.schema import audit_log
from collector.settings import Settings
from province.cli import app as cli
from tests.hardening.inprocess import running_collector

ADMIN = {"Authorization": "Bearer admin-secret"}


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
