"""``commune-monitor tickets``: list, show, ack, comment, resolve, reopen, check-rules."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import Engine, select
from typer.testing import CliRunner

from alerts import tickets
from collector.cli_support import cli_actor
from collector.schema import audit_log
from collector.settings import Settings
from province.cli import app
from tests.alerts.support import World, pc

runner = CliRunner()


def _run(settings: Settings, *args: str) -> tuple[int, str]:
    url = settings.effective_database_url
    result = runner.invoke(app, ["--database-url", url, "tickets", *args])
    return result.exit_code, result.output


def test_ticket_commands(settings: Settings, engine: Engine) -> None:
    world = World(engine)
    commune = world.communes[0]
    world.enrol(commune, [pc(f"{commune}-PC-0", disk=97.0)])
    world.tick()
    code, out = _run(settings, "list")
    assert code == 0, out
    assert "Thiết bị có vấn đề sức khỏe" in out
    ticket_id = out.split()[0].lstrip("#")
    code, out = _run(settings, "list", "--lang", "en", "--state", "open")
    assert "Device health problem" in out
    assert (
        _run(settings, "ack", ticket_id, "--actor", "Trần Văn B")[1]
        .strip()
        .endswith("acknowledged")
    )
    assert _run(settings, "comment", ticket_id, "Đã dọn thư mục tạm")[0] == 0
    assert _run(settings, "resolve", ticket_id, "--note", "xong")[1].strip().endswith("resolved")
    code, out = _run(settings, "reopen", ticket_id)
    assert "reopened 1x" in out
    code, out = _run(settings, "show", ticket_id)
    assert code == 0
    for action in ("opened", "acknowledged", "commented", "resolved", "reopened"):
        assert action in out
    assert "Đã dọn thư mục tạm" in out
    code, out = _run(settings, "ack", "99999")
    assert code == 2
    assert "ticket 99999 does not exist" in out
    code, out = _run(settings, "list", "--state", "closed")
    assert code == 2
    assert "--state" in out


def test_check_rules_names_rule_and_field(tmp_path: Path) -> None:
    good = runner.invoke(app, ["tickets", "check-rules"])
    assert good.exit_code == 0
    assert good.output.startswith("ok: ")
    bad = tmp_path / "rules.yaml"
    bad.write_text(
        "rules:\n  - {name: d, problem_class: device_health, metric: m, op: '>', threshold: x}\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["tickets", "check-rules", "--rules", str(bad)])
    assert result.exit_code == 2
    assert "rules.yaml rule 0 (d), field 'threshold'" in result.output


def test_create_reports_a_problem_and_names_a_bad_option(
    settings: Settings, engine: Engine
) -> None:
    world = World(engine)
    commune = world.communes[2]
    base = ["create", "--commune", commune, "--description", "Không quét được hồ sơ"]
    base += ["--reporter-name", "Phạm Thu", "--reporter-phone", "0243 123 4567"]
    code, out = _run(settings, *base, "--category", "cannot_scan", "--counter", "Quầy 1")
    assert code == 0, out
    found = re.search(r"Đã tạo phiếu #(\d+)\.", out)
    assert found, out
    ticket = tickets.get_ticket(engine, int(found.group(1)))
    assert ticket["category"] == "cannot_scan"
    assert ticket["reports"][0]["source"] == "cli"
    # The account that ran the command, as the audit log and the history name it.
    assert ticket["reports"][0]["actor"] == cli_actor()
    code, out = _run(settings, *base, "--category", "cannot_scan", "--lang", "en")
    assert code == 0, out
    assert f"Ticket #{ticket['id']} already covers this" in out
    for extra, named in (
        (["--category", "cannot_scan", "--reporter-phone", "abc"], "--reporter-phone"),
        (["--category", "fire"], "--category"),
        (["--category", "software_error"], "--message: category software_error needs"),
    ):
        code, out = _run(settings, *base, *extra)
        assert code == 2, out
        assert named in out
    code, out = _run(settings, *[a if a != commune else "99999" for a in base], "--category",
                     "other")  # fmt: skip
    assert code == 2
    assert "--commune: 99999 is not a commune" in out
    assert len(tickets.list_tickets(engine, tickets.TicketFilter())) == 1


def test_people_acting_from_the_command_line_are_its_account(
    settings: Settings, engine: Engine
) -> None:
    world = World(engine)
    commune = world.communes[0]
    world.enrol(commune, [pc(f"{commune}-PC-0", disk=97.0)])
    world.tick()
    (ticket,) = world.tickets()
    assert _run(settings, "ack", str(ticket.id))[0] == 0
    assert _run(settings, "comment", str(ticket.id), "ghi chú", "--actor", "Trần Văn B")[0] == 0
    history = tickets.get_ticket(engine, ticket.id)["history"]
    assert history[-2]["actor"] == cli_actor()
    assert history[-1]["actor"] == f"Trần Văn B ({cli_actor()})"
    with engine.connect() as conn:
        actors = dict(
            conn.execute(
                select(audit_log.c.action, audit_log.c.actor).where(
                    audit_log.c.target == f"ticket:{ticket.id}"
                )
            ).all()
        )
    assert actors == {"ticket_ack": cli_actor(), "ticket_comment": f"Trần Văn B ({cli_actor()})"}
