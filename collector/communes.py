"""Loading Vietnam's provinces and communes (the 2025 two-level list) into the store."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, func, select

from collector.db import upsert
from collector.errors import ConfigError
from collector.schema import communes, provinces

# The 2025 two-level list (34 provinces, 3,321 units) shipped with the package; see data/README.
BUNDLED_UNITS = Path(__file__).parent / "data" / "vn_units_2025.csv"
COLUMNS = ("province_code", "province_name", "commune_code", "commune_name", "commune_type")
COMMUNE_TYPES = frozenset({"xã", "phường", "đặc khu"})


@dataclass(frozen=True)
class LoadResult:
    """How many provinces and communes the store holds after a load."""

    provinces: int
    communes: int


def read_units(path: Path, province: str | None = None) -> list[dict[str, str]]:
    """Rows of ``vn_units_2025.csv``, validated; ``province`` keeps only that province code."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    rows: list[dict[str, str]] = []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ConfigError(f"{path}: missing column(s) {', '.join(missing)}")
        for line, row in enumerate(reader, start=2):
            if not re.fullmatch(r"\d{2}", row["province_code"]):
                raise ConfigError(f"{path} line {line}, column 'province_code': must be 2 digits")
            if not re.fullmatch(r"\d{5}", row["commune_code"]):
                raise ConfigError(f"{path} line {line}, column 'commune_code': must be 5 digits")
            if row["commune_type"] not in COMMUNE_TYPES:
                raise ConfigError(
                    f"{path} line {line}, column 'commune_type': {row['commune_type']!r} is not "
                    f"one of {', '.join(sorted(COMMUNE_TYPES))}"
                )
            if province is None or row["province_code"] == province:
                rows.append(row)
    if province is not None and not rows:
        raise ConfigError(f"{path}: no commune has province_code {province!r}")
    return rows


def load_units(engine: Engine, rows: list[dict[str, str]]) -> LoadResult:
    """Insert or update provinces and communes in one transaction (idempotent)."""
    province_rows = {r["province_code"]: r["province_name"] for r in rows}
    with engine.begin() as conn:
        upsert(
            conn,
            provinces,
            [{"code": code, "name": name} for code, name in province_rows.items()],
            keys=["code"],
            update=["name"],
        )
        upsert(
            conn,
            communes,
            [
                {
                    "code": r["commune_code"],
                    "province_code": r["province_code"],
                    "name": r["commune_name"],
                    "type": r["commune_type"],
                }
                for r in rows
            ],
            keys=["code"],
            update=["province_code", "name", "type"],
        )
        n_provinces = conn.execute(select(func.count()).select_from(provinces)).scalar_one()
        n_communes = conn.execute(select(func.count()).select_from(communes)).scalar_one()
    return LoadResult(provinces=n_provinces, communes=n_communes)
