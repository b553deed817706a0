"""Vietnam's provinces and communes (collector/communes.py): the bundled 2025 list read and
checked line by line, one province kept, loaded idempotently into either store."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from collector import communes
from collector.db import make_engine
from collector.errors import ConfigError
from collector.schema import communes as communes_table
from collector.settings import Settings
from province import migrate

HEADER = "province_code,province_name,commune_code,commune_name,commune_type\n"


def test_the_bundled_list_holds_34_provinces_and_3321_units() -> None:
    rows = communes.read_units(communes.BUNDLED_UNITS)
    assert len(rows) == 3321
    assert len({row["province_code"] for row in rows}) == 34
    assert {row["commune_type"] for row in rows} == set(communes.COMMUNE_TYPES)
    one = communes.read_units(communes.BUNDLED_UNITS, "37")
    assert one
    assert {row["province_code"] for row in one} == {"37"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("province_code,commune_code\n", "missing column(s) province_name, commune_name"),
        (HEADER + "3,Ninh Bình,14134,Xã A,xã\n", "line 2, column 'province_code': must be 2"),
        (HEADER + "37,Ninh Bình,1413,Xã A,xã\n", "line 2, column 'commune_code': must be 5"),
        (
            HEADER + "37,Ninh Bình,14134,Xã A,xã\n37,Ninh Bình,14135,Thôn B,thôn\n",
            "line 3, column 'commune_type': 'thôn' is not one of",
        ),
    ],
)
def test_a_bad_file_is_refused_naming_line_and_column(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "units.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        communes.read_units(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_a_missing_file_or_an_unknown_province_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        communes.read_units(tmp_path / "none.csv")
    with pytest.raises(ConfigError, match="no commune has province_code '99'"):
        communes.read_units(communes.BUNDLED_UNITS, "99")


def test_loading_twice_changes_nothing_and_a_rename_is_applied(settings: Settings) -> None:
    engine = make_engine(settings)
    try:
        migrate.upgrade(engine)
        rows = communes.read_units(communes.BUNDLED_UNITS, "37")
        first = communes.load_units(engine, rows)
        assert (first.provinces, first.communes) == (1, len(rows))
        renamed = [{**rows[0], "commune_name": "Xã Đổi Tên"}, *rows[1:]]
        again = communes.load_units(engine, renamed)
        assert again == first
        with engine.connect() as conn:
            name = conn.execute(
                select(communes_table.c.name).where(
                    communes_table.c.code == rows[0]["commune_code"]
                )
            ).scalar_one()
        assert name == "Xã Đổi Tên"
    finally:
        engine.dispose()
