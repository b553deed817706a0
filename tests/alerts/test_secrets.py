"""Channel secrets come from the environment: never in the outbox, the store, or the logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, String, Text, inspect, select
from typer.testing import CliRunner

from alerts.errors import ChannelError, RulesError
from alerts.notify import AppriseNotifier, Dispatcher, WebhookNotifier
from alerts.routing import Routing, parse_routing
from alerts.schema import outbox
from collector.schema import metadata
from province.cli import app
from tests.alerts.receivers import WebhookServer
from tests.alerts.support import World, pc
from tests.services import free_port

# Shaped like the real thing (a Telegram bot token, a random webhook path), unique to this test.
HOOK_SECRET = "hk-7Qz2pW9xLm4Rt8Vb"
APPRISE_SECRET = "ap-3Nc6Yd1Ks5Fg0Jh2"


@pytest.fixture
def receiver() -> Iterator[WebhookServer]:
    server = WebhookServer(free_port())
    server.start()
    yield server
    server.stop()


def _routing(port: int) -> Routing:
    return parse_routing(
        f"""
default_owner: team
owners:
  team:
    kind: team
    name_vi: Tổ CNTT Sở KH&CN
    name_en: DOST IT team
    channels:
      - {{type: webhook, to: "http://127.0.0.1:{port}/hook/${{CM_TEST_HOOK}}"}}
      - {{type: apprise, to: "json://127.0.0.1:{port}/bot/${{CM_TEST_BOT}}", id: telegram}}
    sla: {{respond: 30m, resolve: 4h}}
routes:
  - {{name: all, owner: team}}
""",
        "routing.yaml",
    )


def _stored_text(engine: Engine) -> str:
    """Every string value of every table of the store, one per line."""
    found = []
    with engine.connect() as conn:
        for name in inspect(engine).get_table_names():
            table = metadata.tables.get(name)
            if table is None:
                continue
            columns = [c for c in table.columns if isinstance(c.type, String | Text)]
            if columns:
                for row in conn.execute(select(*columns)):
                    found.extend(str(value) for value in row if value is not None)
    return "\n".join(found)


def test_secrets_never_reach_the_store_or_the_logs(
    engine: Engine, receiver: WebhookServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    routing = _routing(receiver.port)
    environ = {"CM_TEST_HOOK": HOOK_SECRET}  # the bot token is not set yet
    world = World(engine, routing=routing)
    commune = world.communes[0]
    agent = world.enrol(commune, [pc(f"{commune}-PC-0", disk=97.0)])
    with httpx.Client(timeout=5.0) as client:
        dispatcher = Dispatcher(
            engine,
            world.clock,
            {"webhook": WebhookNotifier(client), "apprise": AppriseNotifier()},
            routing=routing,
            environ=environ,
        )
        # The receiver is down at first: refused deliveries are logged and recorded.
        receiver.failing = True
        world.tick()
        assert (dispatcher.deliver_due().failed, dispatcher.pending()) == (2, 2)
        with engine.connect() as conn:
            errors = dict(conn.execute(select(outbox.c.channel_id, outbox.c.last_error)).all())
        assert errors["webhook"] == "team/webhook: webhook: HTTP 503"
        # The missing variable is named, with its owner and channel, not guessed at.
        assert errors["telegram"] == (
            "routing.yaml owner 'team' channel 'telegram' (apprise): environment variable "
            "CM_TEST_BOT is not set"
        )
        receiver.failing = False
        environ["CM_TEST_BOT"] = APPRISE_SECRET  # set without touching the routing or the rows
        world.clock.advance(60)
        assert dispatcher.deliver_due().sent == 2
        agent.devices = [pc(f"{commune}-PC-0", disk=50.0)]
        for _ in range(12):  # hold-down, then the resolution notice's delay
            world.tick()
        assert dispatcher.deliver_due().sent == 2
    assert dispatcher.pending() == 0
    # The secrets were used: each message went to the address built from them ...
    assert receiver.paths.count(f"/hook/{HOOK_SECRET}") == 3  # refused once, then 2 delivered
    assert receiver.paths.count(f"/bot/{APPRISE_SECRET}") == 2
    assert len(receiver.received) == 4
    # ... yet neither is in any table, nor in any log line (httpx logs every request URL;
    # apprise logs its POST URLs at DEBUG).
    stored = _stored_text(engine)
    assert "team" in stored  # the scan does read the outbox's references
    logs = caplog.text + "\n".join(str(record.__dict__) for record in caplog.records)
    assert "HTTP Request: POST" in logs  # httpx did log the requests, masked
    for secret in (HOOK_SECRET, APPRISE_SECRET):
        assert secret not in stored
        assert secret not in logs
    with engine.connect() as conn:
        refs = set(conn.execute(select(outbox.c.owner, outbox.c.channel_id, outbox.c.target)))
    assert refs == {("team", "webhook", ""), ("team", "telegram", "")}


def test_a_channel_removed_from_the_routing_keeps_its_rows_and_names_itself(
    engine: Engine, receiver: WebhookServer
) -> None:
    routing = _routing(receiver.port)
    world = World(engine, routing=routing)
    commune = world.communes[0]
    world.enrol(commune, [pc(f"{commune}-PC-0", disk=97.0)])
    world.tick()
    # The province edits routing.yaml and restarts: the queued rows find no such channel.
    edited = parse_routing(
        """
default_owner: team
owners:
  team: {kind: team, name_vi: T, channels: [{type: email, to: a@example.vn}],
         sla: {respond: 1h, resolve: 1d}}
routes: []
""",
        "routing.yaml",
    )
    dispatcher = Dispatcher(engine, world.clock, {"apprise": AppriseNotifier()}, routing=edited)
    assert dispatcher.deliver_due().failed == 2
    with engine.connect() as conn:
        errors = set(conn.execute(select(outbox.c.last_error)).scalars())
    assert errors == {
        "routing.yaml owner 'team' channel 'telegram': no such channel (routing changed since "
        "the message was queued)",
        "no notifier configured for channel 'webhook'",
    }
    assert dispatcher.pending() == 2  # nothing dropped


def test_destination_checks_the_resolved_address() -> None:
    routing = _routing(9)
    ok = routing.destination("team", "telegram", {"CM_TEST_BOT": APPRISE_SECRET})
    assert ok.address == f"json://127.0.0.1:9/bot/{APPRISE_SECRET}"
    assert ok.secrets == (APPRISE_SECRET,)
    bad = parse_routing(
        """
default_owner: t
owners:
  t: {kind: team, name_vi: T, sla: {respond: 1h, resolve: 1d},
      channels: [{type: webhook, to: "${CM_HOOK_URL}"}]}
"""
    )
    with pytest.raises(ChannelError) as caught:
        bad.destination("t", "webhook", {"CM_HOOK_URL": "ftp://example.vn/x"})
    message = str(caught.value)
    assert "built from ${CM_HOOK_URL} is not an http:// or https:// URL" in message
    assert "example.vn" not in message  # the value itself is never echoed
    assert bad.check_environment({}) == [
        "routing.yaml owner 't' channel 'webhook' (webhook): environment variable CM_HOOK_URL "
        "is not set"
    ]


@pytest.mark.parametrize(
    ("channels", "expected"),
    [
        ('[{type: webhook, to: "https://x.vn/${bad-name}"}]', "is not a variable reference"),
        ('[{type: webhook, to: "https://x.vn/${TOKEN"}]', "an unclosed '${'"),
        ('[{type: webhook, to: "hxxp://x.vn/hook"}]', "not an http:// or https:// URL"),
        (
            "[{type: email, to: a@x.vn}, {type: email, to: b@x.vn, id: email}]",
            "field 'channels.1.id': 'email' is used by an earlier channel",
        ),
        ('[{type: email, to: a@x.vn, id: "Bad Id"}]', "field 'channels.0.id'"),
    ],
)
def test_bad_channels_name_owner_and_field(channels: str, expected: str) -> None:
    text = f"""
default_owner: t
owners:
  t: {{kind: team, name_vi: T, sla: {{respond: 1h, resolve: 1d}}, channels: {channels}}}
"""
    with pytest.raises(RulesError) as caught:
        parse_routing(text)
    assert "owner 't'" in str(caught.value)
    assert expected in str(caught.value)


def test_default_channel_ids_follow_the_type() -> None:
    routing = parse_routing(
        """
default_owner: t
owners:
  t: {kind: team, name_vi: T, sla: {respond: 1h, resolve: 1d}, channels: [
      {type: email, to: a@x.vn}, {type: webhook, to: "https://x.vn/h"}, {type: email, to: b@x.vn}]}
"""
    )
    assert [c.id for c in routing.owners["t"].channels] == ["email", "webhook", "email-2"]


def test_check_rules_names_a_missing_variable(tmp_path: Path) -> None:
    routing = tmp_path / "routing.yaml"
    routing.write_text(
        """
default_owner: t
owners:
  t: {kind: team, name_vi: T, sla: {respond: 1h, resolve: 1d},
      channels: [{type: apprise, to: "tgram://${CM_TEST_TG}/-1001234", id: telegram}]}
""",
        encoding="utf-8",
    )
    runner = CliRunner()
    missing = runner.invoke(app, ["tickets", "check-rules", "--routing", str(routing)], env={})
    assert missing.exit_code == 2
    assert "owner 't' channel 'telegram' (apprise): environment variable CM_TEST_TG" in (
        missing.output
    )
    bad = runner.invoke(
        app,
        ["tickets", "check-rules", "--routing", str(routing)],
        env={"CM_TEST_TG": "not-a-token"},
    )
    assert bad.exit_code == 2
    assert "is not an apprise URL" in bad.output
    assert "not-a-token" not in bad.output
    good = runner.invoke(
        app,
        ["tickets", "check-rules", "--routing", str(routing)],
        env={"CM_TEST_TG": "123456789:abcdefghij_klmnop"},
    )
    assert good.exit_code == 0, good.output
    assert good.output.startswith("ok: ")
    assert "123456789" not in good.output
