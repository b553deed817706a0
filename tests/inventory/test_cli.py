"""``commune-monitor inventory …`` on a real store (SQLite and PostgreSQL) through CliRunner."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import Engine
from typer.testing import CliRunner

from inventory.register_reader import read_register
from inventory.register_writer import register_to_csv, register_to_xlsx
from inventory.store import count_assets
from province.cli import app
from tests.inventory.builders import add_agent, add_device, province_register

# Wide enough that rich does not fold the cells the assertions look for.
runner = CliRunner(env={"COLUMNS": "220"})
AS_OF = "2026-03-02"


def invoke(url: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--database-url", url, "inventory", *args])
    return result.exit_code, result.output


def test_help_teaches_the_commands() -> None:
    result = runner.invoke(app, ["inventory", "--help"])
    assert result.exit_code == 0
    for command in ("import", "plan", "reconcile", "ranking", "export"):
        assert command in result.output
    assert "Sổ tài sản" in result.output
    plan_help = runner.invoke(app, ["inventory", "plan", "--help"]).output
    assert "2.000.000.000" in plan_help
    assert "--out" in plan_help


def test_import_rank_plan_and_export(
    engine: Engine, store_url: str, units_csv: Path, tmp_path: Path
) -> None:
    assets = province_register(units_csv)
    register = tmp_path / "so-tai-san.xlsx"
    register.write_bytes(register_to_xlsx(assets))
    code, out = invoke(store_url, "import", str(register))
    assert code == 0, out
    assert f"Đã nhập {len(assets)} tài sản" in out
    assert count_assets(engine) == len(assets)

    code, out = invoke(store_url, "ranking", "--top", "5", "--as-of", AS_OF)
    assert code == 0, out
    assert "Thứ tự ưu tiên" in out
    assert sum(1 for tag in (a.asset_tag for a in assets) if tag in out) == 5

    plan_file = tmp_path / "ke-hoach.xlsx"
    code, out = invoke(
        store_url, "plan", "--budget", "300.000.000", "--as-of", AS_OF, "--out", str(plan_file)
    )
    assert code == 0, out
    assert "Ngân sách (budget) 300.000.000 đ" in out
    assert "tối ưu đã chứng minh (proven optimal): có" in out
    workbook = load_workbook(plan_file)
    assert "Mã tài sản" in [cell.value for cell in workbook.worksheets[0][1]]

    exported = tmp_path / "register.csv"
    code, out = invoke(store_url, "export", "register", "--out", str(exported))
    assert code == 0, out
    codes = {a.commune_code for a in assets}
    assert read_register(exported, valid_communes=codes) == sorted(
        assets, key=lambda a: a.asset_tag
    )


def test_bad_row_is_listed_and_nothing_imported(
    engine: Engine, store_url: str, units_csv: Path, tmp_path: Path
) -> None:
    assets = province_register(units_csv, communes=1)[:6]
    lines = register_to_csv(assets).decode("utf-8-sig").splitlines()
    header = lines[0].split(",")
    cells = lines[2].split(",")
    cells[header.index("Mã xã")] = "99999"
    lines[2] = ",".join(cells)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines), encoding="utf-8")
    code, out = invoke(store_url, "import", str(bad))
    assert code == 2
    assert "│ CSV" in out
    assert "│ 3 " in out
    assert "Mã xã" in out
    assert "99999" in out
    assert "nothing was imported" in out
    assert count_assets(engine) == 0


def test_bad_options_name_the_option(engine: Engine, store_url: str, tmp_path: Path) -> None:
    code, out = invoke(store_url, "plan", "--budget", "hai tỷ")
    assert code == 2
    assert "--budget" in out
    code, out = invoke(store_url, "plan", "--budget", "1000", "--out", str(tmp_path / "p.pdf"))
    assert code == 2
    assert ".xlsx or .csv" in out
    code, out = invoke(store_url, "ranking", "--as-of", "31-31-2025")
    assert code == 2
    assert "--as-of" in out
    code, out = invoke(store_url, "import", str(tmp_path / "none.xlsx"))
    assert code == 2


def test_reconcile_reports_each_part(engine: Engine, store_url: str, tmp_path: Path) -> None:
    csv = tmp_path / "r.csv"
    csv.write_text(
        "Mã tài sản,Loại,Model,Số serial,Mã xã,Ngày đưa vào sử dụng,Nguyên giá (VNĐ)\n"
        "PC-01,Máy vi tính,OptiPlex 3080,SER-0001,13285,01/05/2021,15000000\n"
        "PR-01,Máy in,B433dn,SER-0002,13285,01/05/2021,5000000\n",
        encoding="utf-8",
    )
    assert invoke(store_url, "import", str(csv))[0] == 0
    add_agent(engine, "agent-1", "13285")
    add_device(
        engine,
        agent_id="agent-1",
        commune_code="13285",
        device_id="pc-1",
        kind="pc",
        facts={"serial": "SER-0001", "model": "Latitude 5420"},
    )
    add_device(
        engine,
        agent_id="agent-1",
        commune_code="13285",
        device_id="pc-2",
        kind="pc",
        facts={"serial": "SER-9999"},
    )
    report = tmp_path / "doi-chieu.xlsx"
    code, out = invoke(store_url, "reconcile", "--out", str(report))
    assert code == 0, out
    assert "sai khác (mismatch) PC-01 ↔ pc-1: model" in out
    assert "không thấy (missing) PR-01" in out
    assert "chưa có trong sổ (unrecorded) 13285 pc-2" in out
    assert [ws.title for ws in load_workbook(report).worksheets] == [
        "Đã khớp",
        "Không thấy trên mạng",
        "Chưa có trong sổ",
    ]
    code, out = invoke(store_url, "reconcile", "--out", str(tmp_path / "r.csv"))
    assert code == 2


def test_a_file_over_the_size_bound_is_refused_before_it_is_read(
    engine: Engine, store_url: str, tmp_path: Path
) -> None:
    big = tmp_path / "so-tai-san.csv"
    with big.open("wb") as handle:
        handle.truncate(100 * 1024 * 1024)  # sparse: the size is what the reader sees first
    code, out = invoke(store_url, "import", str(big))
    assert code == 2
    assert "bound max_bytes = 67,108,864" in " ".join(out.split())
    assert count_assets(engine) == 0
