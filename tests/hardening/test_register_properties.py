"""Property tests of the asset-register importer (``inventory/register_io.py``) and its store.

Whatever a file holds — arbitrary cells under Vietnamese or English headers, a valid register with
bytes flipped, a workbook whose XML is damaged — the importer returns a register or raises one of
our two errors: ``RegisterRejected`` whose every issue names the sheet, the row and the column, or
``RegisterFileError`` saying the file cannot be read. A register we export imports back as the
same assets, and an import that is refused leaves the store exactly as it was.
"""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy import Engine

from inventory.errors import RegisterConflict, RegisterFileError, RegisterRejected
from inventory.lives import LifeTables, load_life_tables
from inventory.models import KIND_LABELS, STATUS_LABELS, Asset, AssetKind, AssetStatus, Revaluation
from inventory.register_io import (
    REGISTER_FIELDS,
    read_register,
    read_register_csv,
    read_register_xlsx,
    register_to_csv,
    register_to_xlsx,
)
from inventory.sample_register import load_units
from inventory.store import ImportMode, import_register, list_assets, list_imports
from inventory.store import valid_commune_codes as stored_codes
from tests.inventory.conftest import UNITS_CSV

NOW = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
PROPERTY = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
)


@pytest.fixture(scope="module")
def tables() -> LifeTables:
    """The packaged lives table (asset classes)."""
    return load_life_tables()


@pytest.fixture(scope="module")
def valid_codes() -> frozenset[str]:
    """Every commune code of the 2025 list of units."""
    if not UNITS_CSV.exists():
        pytest.fail(f"{UNITS_CSV} is missing: the tests need shared/data beside the repository")
    return frozenset(unit.commune_code for unit in load_units(UNITS_CSV))


# -- what a cell may hold -------------------------------------------------------------------

_WORDS = st.sampled_from(
    ["Máy vi tính", "Máy in", "máy quét", "pc", "printer", "Đang sử dụng", "Hỏng", "thanh lý",
     "00070", "70", "99999", "15/08/2023", "31/02/2024", "2023-08", "08/2023", "2023", "1979",
     "15.000.000", "15,000,000", "12 000 000 đ", "-4000000", "4000000,5", "1e6", "NaN", "",
     " ", "=SUM(A1:A3)", "+84 912", "@cmd", "'00070", "Quầy 1", "Ngân sách tỉnh", "Dell",
     "x" * 250, "\u200b", "🙂", "Mã tài sản", "Asset tag", "None", "true", "0", "-0", "1.5"]
)  # fmt: skip
# Any character, control characters included (a CSV can hold them; the XLSX writer below drops
# those XML cannot, as a real workbook cannot hold them).
text_cells = _WORDS | st.text(st.characters(codec="utf-8"), max_size=40)
any_cells = (
    st.none()
    | text_cells
    | st.integers(min_value=-(10**16), max_value=10**16)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.booleans()
    | st.dates(min_value=date(1900, 3, 1), max_value=date(9999, 12, 31))
    | st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(9999, 12, 31))
)


def _bare(text: str) -> str:
    """A header as typed without diacritics (``Mã xã`` → ``Ma xa``)."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@st.composite
def headers(draw: st.DrawFn) -> list[str]:
    """A header row: some register fields (required ones usually), any accepted spelling, shuffled,
    plus an office's own columns that the importer ignores."""
    chosen = []
    for spec in REGISTER_FIELDS:
        if draw(st.floats(0, 1)) < (0.95 if spec.required else 0.4):
            spelling = draw(st.sampled_from([spec.header_vi, spec.header_en, *spec.aliases]))
            spelling = draw(
                st.sampled_from([spelling, _bare(spelling), spelling.upper(), f" {spelling} "])
            )
            chosen.append(spelling)
    chosen += draw(st.lists(st.sampled_from(["Ghi chú", "STT", "Notes", ""]), max_size=2))
    return draw(st.permutations(chosen))


def _csv(rows: Sequence[Sequence[Any]], delimiter: str) -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter).writerows(
        [["" if value is None else str(value) for value in row] for row in rows]
    )
    return buffer.getvalue().encode("utf-8")


def _xlsx(sheets: dict[str, Sequence[Sequence[Any]]]) -> bytes:
    workbook = Workbook()
    if workbook.active is not None:
        workbook.remove(workbook.active)
    for name, rows in sheets.items():
        worksheet = workbook.create_sheet(name)
        for row in rows:
            worksheet.append(
                [ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in row]
            )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _outcome(
    read: Callable[[], list[Asset]], sheets: Collection[str], rows: int
) -> list[Asset] | None:
    """Run an import: a register, or one of our errors with every issue located (None)."""
    refused: RegisterRejected | RegisterFileError
    try:
        return read()
    except (RegisterRejected, RegisterFileError) as exc:
        refused = exc
    assert str(refused)
    if isinstance(refused, RegisterRejected):
        assert refused.issues
        assert "nothing imported" in str(refused)
        for issue in refused.issues:
            assert issue.sheet in sheets, issue
            assert 1 <= issue.row <= max(rows, 1), issue
            assert issue.column.strip(), issue
            assert issue.reason_vi, issue
            assert issue.reason_en, issue
            assert issue.describe("vi")
            assert issue.describe("en")
    return None


@PROPERTY
@given(
    header=headers(),
    body=st.lists(st.lists(any_cells, max_size=24), max_size=8),
    title=st.lists(st.lists(text_cells, max_size=3), max_size=3),
    delimiter=st.sampled_from([",", ";", "\t"]),
)
@example(
    header=["Mã tài sản", "Loại", "Mã xã", "Ngày đưa vào sử dụng", "Ngày đổi trạng thái"],
    body=[["T-1", "pc", "00070", "15/08/2023", "01/01/2020"]],
    title=[],
    delimiter=",",
)
@example(
    header=["Mã tài sản", "Loại", "Mã xã", "Ngày đưa vào sử dụng", "Năm đánh giá lại",
            "Nguyên giá đánh giá lại (VNĐ)", "Giá trị còn lại đánh giá lại (VNĐ)"],
    body=[["T-1", "pc", "00070", "15/08/2023", 2021, 5_000_000, 9_000_000]],
    title=[],
    delimiter=",",
)  # fmt: skip
def test_any_cells_give_a_register_or_a_located_rejection(
    valid_codes: frozenset[str],
    tables: LifeTables,
    header: list[str],
    body: list[list[Any]],
    title: list[list[str]],
    delimiter: str,
) -> None:
    rows = [*title, header, *body]
    csv_assets = _outcome(
        lambda: read_register_csv(
            _csv(rows, delimiter), valid_communes=valid_codes, tables=tables, as_of=NOW.date()
        ),
        {"CSV"},
        len(rows),
    )
    xlsx_assets = _outcome(
        lambda: read_register_xlsx(
            _xlsx({"Sổ tài sản": rows, "Hướng dẫn": title}),
            valid_communes=valid_codes,
            tables=tables,
            as_of=NOW.date(),
        ),
        {"Sổ tài sản", "Hướng dẫn"},
        len(rows),
    )
    for assets in (csv_assets, xlsx_assets):
        if assets is None:
            continue
        assert len(assets) <= len(body)
        assert len({asset.asset_tag.casefold() for asset in assets}) == len(assets)
        # Whatever was accepted can be exported and reads back the same, in both formats.
        for lang in ("vi", "en"):
            again = read_register_xlsx(
                register_to_xlsx(assets, lang=lang), valid_communes=valid_codes, tables=tables
            )
            assert again == assets
            again = read_register_csv(
                register_to_csv(assets, lang=lang), valid_communes=valid_codes, tables=tables
            )
            assert again == assets


# -- valid registers round-trip --------------------------------------------------------------

# What an import can store: no control characters but tab and line feed (see register_io).
_FREE_TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"))
    | st.sampled_from([" ", ",", ";", '"', "'", "\t", "\n", "=", "+", "-", "@"]),
    max_size=60,
)
_PLAIN = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Z")), max_size=30)


def _strip(text: str) -> str:
    return text.strip()


@st.composite
def assets(draw: st.DrawFn, codes: Sequence[str], classes: Sequence[str]) -> list[Asset]:
    """A valid register: unique tags and serials, dates in order, costs whole VND."""
    count = draw(st.integers(min_value=1, max_value=6))
    tags = draw(
        st.lists(
            _PLAIN.map(_strip).filter(lambda tag: 0 < len(tag) <= 64),
            min_size=count,
            max_size=count,
            unique_by=str.casefold,
        )
    )
    serials = draw(
        st.lists(
            _PLAIN.map(_strip).filter(lambda serial: 0 < len(serial) <= 100),
            min_size=count,
            max_size=count,
            unique_by=str.casefold,
        )
    )
    out = []
    for tag, serial in zip(tags, serials, strict=True):
        put_into_use = draw(st.dates(min_value=date(1980, 1, 1), max_value=NOW.date()))
        revaluation = None
        if draw(st.booleans()):
            cost = draw(st.integers(min_value=0, max_value=10**12))
            revaluation = Revaluation(
                year=draw(st.integers(min_value=max(2000, put_into_use.year), max_value=2100)),
                cost=cost,
                remaining_value=draw(st.none() | st.integers(min_value=0, max_value=cost)),
                remaining_life_years=draw(st.none() | st.integers(min_value=0, max_value=50)),
            )
        out.append(
            Asset(
                asset_tag=tag,
                kind=draw(st.sampled_from(AssetKind)),
                brand=draw(_FREE_TEXT),
                model=draw(_FREE_TEXT),
                serial=draw(st.none() | st.just(serial)),
                commune_code=draw(st.sampled_from(codes)),
                room=draw(_FREE_TEXT),
                put_into_use=put_into_use,
                original_cost=draw(st.none() | st.integers(min_value=0, max_value=10**13)),
                revaluation=revaluation,
                funding_source=draw(_FREE_TEXT),
                warranty_end=draw(
                    st.none() | st.dates(min_value=date(1980, 1, 1), max_value=date(2100, 12, 31))
                ),
                status=draw(st.sampled_from(AssetStatus)),
                status_since=draw(
                    st.none() | st.dates(min_value=put_into_use, max_value=date(2100, 12, 31))
                ),
                previous_owner=draw(_FREE_TEXT),
                asset_class=draw(st.none() | st.sampled_from(classes)),
                years_used_before_purchase=draw(st.integers(min_value=0, max_value=50)),
            )
        )
    return out


def test_every_kind_and_status_label_is_importable() -> None:
    # The round trip writes these labels; each must be one the importer knows.
    assert len(KIND_LABELS) == len(AssetKind)
    assert len(STATUS_LABELS) == len(AssetStatus)


@PROPERTY
@given(data=st.data(), lang=st.sampled_from(["vi", "en"]))
def test_an_exported_register_imports_back_as_the_same_assets(
    valid_codes: frozenset[str], tables: LifeTables, data: st.DataObject, lang: str
) -> None:
    register = data.draw(assets(sorted(valid_codes)[:50], sorted(tables.classes)))
    for exported, reader in (
        (register_to_xlsx(register, lang=lang), read_register_xlsx),  # type: ignore[arg-type]
        (register_to_csv(register, lang=lang), read_register_csv),  # type: ignore[arg-type]
    ):
        back = reader(exported, valid_communes=valid_codes, tables=tables, as_of=NOW.date())
        assert back == register


# -- corrupted files -------------------------------------------------------------------------


def _flip(data: bytes, positions: list[int], values: list[int]) -> bytes:
    out = bytearray(data)
    for position, value in zip(positions, values, strict=False):
        out[position % len(out)] = value
    return bytes(out)


@st.composite
def corrupted(draw: st.DrawFn, original: bytes) -> bytes:
    """``original`` with bytes replaced, a slice cut out, junk inserted, or truncated."""
    how = draw(st.sampled_from(["flip", "cut", "insert", "truncate"]))
    size = len(original)
    if how == "flip":
        count = draw(st.integers(min_value=1, max_value=8))
        positions = draw(st.lists(st.integers(0, size - 1), min_size=count, max_size=count))
        values = draw(st.lists(st.integers(0, 255), min_size=count, max_size=count))
        return _flip(original, positions, values)
    start = draw(st.integers(0, size - 1))
    if how == "cut":
        return original[:start] + original[start + draw(st.integers(1, 64)) :]
    if how == "insert":
        return original[:start] + draw(st.binary(min_size=1, max_size=64)) + original[start:]
    return original[:start]


def _sample_register(codes: Sequence[str]) -> list[Asset]:
    return [
        Asset(
            asset_tag=f"{codes[i % len(codes)]}-MT-{i:02d}",
            kind=kind,
            brand="Dell",
            model='OptiPlex "3080", 8 GB',
            serial=f"SN{i:04d}",
            commune_code=codes[i % len(codes)],
            room="Quầy 1",
            put_into_use=date(2019 + i % 5, 1 + i % 12, 1 + i % 28),
            original_cost=15_000_000 + i,
            revaluation=(
                Revaluation(year=2025, cost=9_000_000, remaining_value=4_000_000)
                if i % 3 == 0
                else None
            ),
            funding_source="Ngân sách tỉnh",
            status=AssetStatus.BROKEN if i % 4 == 0 else AssetStatus.IN_USE,
        )
        for i, kind in enumerate([*AssetKind, *AssetKind][:20])
    ]


@pytest.fixture(scope="module")
def sample_files(valid_codes: frozenset[str]) -> dict[str, bytes]:
    register = _sample_register(sorted(valid_codes)[:5])
    return {"xlsx": register_to_xlsx(register), "csv": register_to_csv(register)}


@PROPERTY
@given(data=st.data())
def test_corrupted_csv_gives_only_our_errors(
    valid_codes: frozenset[str], sample_files: dict[str, bytes], data: st.DataObject
) -> None:
    damaged = data.draw(corrupted(sample_files["csv"]))
    _outcome(
        lambda: read_register(damaged, filename="so.csv", valid_communes=valid_codes),
        {"CSV"},
        damaged.count(b"\n") + damaged.count(b"\r") + 1,
    )


@PROPERTY
@given(data=st.data())
def test_corrupted_xlsx_bytes_give_only_our_errors(
    valid_codes: frozenset[str], sample_files: dict[str, bytes], data: st.DataObject
) -> None:
    damaged = data.draw(corrupted(sample_files["xlsx"]))
    _outcome(
        lambda: read_register(damaged, filename="so.xlsx", valid_communes=valid_codes),
        {"Sổ tài sản"},
        10**6,
    )


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@PROPERTY
@given(data=st.data())
def test_workbook_with_damaged_xml_gives_only_our_errors(
    valid_codes: frozenset[str], sample_files: dict[str, bytes], data: st.DataObject
) -> None:
    # A well-formed ZIP whose parts are damaged: what a half-broken spreadsheet program writes.
    members = _members(sample_files["xlsx"])
    name = data.draw(st.sampled_from(sorted(members)))
    if data.draw(st.booleans()):
        members[name] = data.draw(corrupted(members[name]))
    else:
        del members[name]
    damaged = _zip(members)
    _outcome(
        lambda: read_register(damaged, filename="so.xlsx", valid_communes=valid_codes),
        {"Sổ tài sản"},
        10**6,
    )


# -- the store is untouched by a refused import ----------------------------------------------


def _snapshot(engine: Engine) -> tuple[list[Asset], list[tuple[int, int, str]]]:
    return list_assets(engine), [(i.import_id, i.assets, i.sha256) for i in list_imports(engine)]


@st.composite
def damaged_registers(draw: st.DrawFn, good: bytes, stored_tag: str) -> tuple[bytes, str]:
    """A register file with something wrong: one bad cell, a stored tag repeated, bytes damaged."""
    lines = good.decode("utf-8-sig").split("\r\n")
    how = draw(st.sampled_from(["cell", "duplicate", "bytes"]))
    if how == "bytes":
        return draw(corrupted(good)), "so.csv"
    row = draw(st.integers(min_value=1, max_value=len([line for line in lines if line]) - 1))
    cells = next(csv.reader([lines[row]]))
    if how == "duplicate":
        cells[0] = stored_tag
    else:
        column = draw(st.sampled_from([1, 5, 7, 8]))  # kind, commune, put into use, cost
        cells[column] = draw(st.sampled_from(["Máy pha cà phê", "99999", "31/02/2024", "-5"]))
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="").writerow(cells)
    lines[row] = buffer.getvalue()
    return "\r\n".join(lines).encode("utf-8-sig"), "so.csv"


def test_a_refused_import_leaves_the_store_as_it_was(engine: Engine) -> None:
    with engine.connect() as conn:
        codes = sorted(stored_codes(conn))[:5]
    first = _sample_register(codes)[:6]
    import_register(engine, register_to_csv(first), filename="dau.csv", now=NOW)
    second = [
        asset.model_copy(update={"asset_tag": f"N-{i}", "serial": f"N{i}"})
        for i, asset in enumerate(_sample_register(codes)[6:14])
    ]
    good = register_to_csv(second)
    # SQLite in many examples; PostgreSQL in a few (each one a real transaction on the server).
    examples = 60 if engine.dialect.name == "sqlite" else 8
    outcomes: Counter[str] = Counter()

    @settings(PROPERTY, max_examples=examples)
    @given(damaged=damaged_registers(good, first[0].asset_tag), mode=st.sampled_from(ImportMode))
    def refused(damaged: tuple[bytes, str], mode: ImportMode) -> None:
        data, filename = damaged
        before = _snapshot(engine)
        try:
            result = import_register(engine, data, filename=filename, now=NOW, mode=mode)
        except (RegisterRejected, RegisterFileError, RegisterConflict):
            assert _snapshot(engine) == before
            outcomes["refused"] += 1
            return
        outcomes["accepted"] += 1
        # Damage that still parses (a flipped byte inside a brand name) is a whole import:
        # every asset of the file stored, or, replacing, only they.
        stored = list_assets(engine)
        assert len(stored) == (
            result.assets if mode is ImportMode.REPLACE else len(before[0]) + result.assets
        )
        # Put the store back as it was for the next example.
        import_register(
            engine, register_to_csv(before[0]), filename="lai.csv", now=NOW, mode=ImportMode.REPLACE
        )

    refused()
    # The property was about refusals: most damaged files must have been refused.
    assert outcomes["refused"] >= examples // 2, outcomes
