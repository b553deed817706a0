"""``commune-monitor report monthly|quarterly`` (province/report_cli.py) on both stores: the file
from its suffix, read back with its diacritics; refusals naming the option."""

from __future__ import annotations

import io
from pathlib import Path

from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import Engine
from typer.testing import CliRunner

from province.cli import app
from tests.alerts.report_world import build_report_world

runner = CliRunner()


def test_march_as_pdf_and_the_quarter_as_xlsx(
    engine: Engine, store_url: str, tmp_path: Path
) -> None:
    build_report_world(engine, tmp_path)
    pdf = tmp_path / "bao-cao-2026-03.pdf"
    result = runner.invoke(
        app,
        ["--database-url", store_url, "report", "monthly", "--month", "2026-03", "--out", str(pdf)],
    )
    assert result.exit_code == 0, result.output
    assert f"wrote {pdf}" in result.output
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.read_bytes())).pages)
    for words in ("Phường Châu Sơn", "Tổ CNTT Sở Khoa học và Công nghệ", "Ninh Bình"):
        assert words in text, words
    assert "Kỳ báo cáo chưa kết thúc" not in text  # made long after March
    xlsx = tmp_path / "q1.xlsx"
    result = runner.invoke(
        app,
        [
            "--database-url",
            store_url,
            "report",
            "quarterly",
            "--quarter",
            "2026-Q1",
            "--out",
            str(xlsx),
            "--lang",
            "en",
        ],
    )
    assert result.exit_code == 0, result.output
    book = load_workbook(io.BytesIO(xlsx.read_bytes()), read_only=True)
    communes = list(book["Communes"].iter_rows(values_only=True))
    assert communes[0][:2] == ("Code", "Commune")
    assert {row[1] for row in communes[1:]} == {"Phường Châu Sơn", "Phường Phủ Lý"}


def test_refusals_name_the_option(store_url: str, engine: Engine, tmp_path: Path) -> None:
    cases = (
        (["monthly", "--month", "2026-03", "--out", str(tmp_path / "r.docx")], "--out"),
        (["monthly", "--month", "03-2026", "--out", str(tmp_path / "r.pdf")], "--month"),
        (["quarterly", "--quarter", "2026-Q5", "--out", str(tmp_path / "r.pdf")], "--quarter"),
        (
            ["monthly", "--month", "2026-03", "--out", str(tmp_path / "r.pdf"), "--lang", "fr"],
            "--lang",
        ),
    )
    for args, option in cases:
        result = runner.invoke(app, ["--database-url", store_url, "report", *args])
        assert result.exit_code == 2, (args, result.output)
        assert option in result.output, result.output
    assert not list(tmp_path.glob("r.*"))
