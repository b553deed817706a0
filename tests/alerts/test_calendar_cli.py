"""``commune-monitor calendar`` (alerts/calendar_cli.py): a commune's next days, a file checked."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from province.cli import app


def test_the_cli_prints_a_communes_next_days(tmp_path: Path) -> None:
    file = tmp_path / "calendar.yaml"
    file.write_text(yaml.safe_dump({"communes": {"13285": {"saturday_morning": True}}}))
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["calendar", "show", "--commune", "13285", "--from", "2026-02-12", "--file", str(file)],
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 15  # a heading and 14 days
    assert "Thứ Năm    12/02/2026  07:00–11:30, 13:30–17:00" in lines[1]
    assert "14/02/2026  07:00–11:30" in lines[3]  # its Saturday morning
    assert "16/02/2026  nghỉ: Giao thừa Tết Nguyên Đán" in lines[5]
    bad = runner.invoke(app, ["calendar", "show", "--commune", "1328"])
    assert bad.exit_code == 2
    assert "5-digit" in bad.output
    broken = tmp_path / "broken.yaml"
    broken.write_text("make_up_days: [{date: 2026-08-24, replaces: 2026-08-31, source: xyz}]\n")
    checked = runner.invoke(app, ["calendar", "check", "--file", str(broken)])
    assert checked.exit_code == 2
    assert "make_up_days.0.date" in checked.output
