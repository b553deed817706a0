"""``commune-monitor tickets``: list, show, ack, comment, resolve, reopen, check-rules."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from typer.testing import CliRunner

from collector.cli import app
from collector.settings import Settings
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
