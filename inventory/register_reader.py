"""Import the asset register from CSV or XLSX, all or nothing, every problem located.

The file is read within the import bounds (``register_limits``: rows, columns, cell length, size,
refused with ``RegisterTooLarge`` naming the bound) by ``register_csv`` or ``register_xlsx``; the
header row may sit below a title block (the first ten rows are searched) and its headers are
matched as ``register_columns`` says. Then every cell is parsed (``register_cells``) and every row
validated: an import either returns every record or raises ``RegisterRejected`` carrying one
``ImportIssue`` per problem (sheet, row, column, reason): a bad date, a negative or fractional
cost, an unknown commune code, kind or status, a duplicate tag or serial. Nothing is ever half
imported.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from inventory.errors import ImportIssue, RegisterFileError, RegisterRejected
from inventory.lives import LifeTables
from inventory.models import Asset
from inventory.register_cells import (
    CellError,
    cell_text,
    parse_class,
    parse_commune,
    parse_date,
    parse_int,
    parse_kind,
    parse_status,
    parse_vnd,
)
from inventory.register_columns import (
    FIELDS_BY_HEADER,
    IGNORED_HEADERS,
    REGISTER_FIELDS,
    RegisterField,
    field_of,
    normalize_header,
)
from inventory.register_csv import csv_sheet
from inventory.register_limits import RawSheet, RegisterBounds, check_size
from inventory.register_xlsx import xlsx_sheets


@dataclass(frozen=True)
class _Context:
    sheet: str
    valid_communes: Collection[str]
    as_of: date | None
    tables: LifeTables | None


def _issue(ctx: _Context, row: int, column: str, error: CellError, value: Any) -> ImportIssue:
    return ImportIssue(
        sheet=ctx.sheet,
        row=row,
        column=column,
        code=error.code,
        reason_vi=error.reason_vi,
        reason_en=error.reason_en,
        value=cell_text(value)[:100],
    )


def _row_fields(
    ctx: _Context, row_number: int, cells: dict[str, tuple[str, Any]]
) -> tuple[dict[str, Any], list[ImportIssue]]:
    """Parse one row's cells (key → (header, value)) into Asset fields."""
    issues: list[ImportIssue] = []
    fields: dict[str, Any] = {}

    def take(key: str, parser: Callable[[Any], Any]) -> Any:
        header, value = cells.get(key, ("", None))
        try:
            return parser(value)
        except CellError as error:
            issues.append(_issue(ctx, row_number, header, error, value))
            return None

    def required(value: Any) -> Any:
        if cell_text(value) == "":
            raise CellError("missing", "ô bắt buộc bị trống", "required cell is empty")
        return value

    fields["asset_tag"] = cell_text(take("asset_tag", required))
    fields["kind"] = take("kind", lambda v: parse_kind(required(v)))
    for key in ("brand", "model", "room", "funding_source", "previous_owner"):
        fields[key] = cell_text(cells.get(key, ("", None))[1])
    fields["serial"] = cell_text(cells.get("serial", ("", None))[1]) or None
    fields["commune_code"] = take("commune_code", lambda v: parse_commune(v, ctx.valid_communes))
    put_into_use = take("put_into_use", lambda v: parse_date(required(v)))
    if put_into_use is not None and ctx.as_of is not None and put_into_use > ctx.as_of:
        header, value = cells["put_into_use"]
        issues.append(
            _issue(
                ctx,
                row_number,
                header,
                CellError(
                    "future_date",
                    f"ngày đưa vào sử dụng sau ngày nhập ({ctx.as_of.strftime('%d/%m/%Y')})",
                    f"put into use after the import date ({ctx.as_of.isoformat()})",
                ),
                value,
            )
        )
    fields["put_into_use"] = put_into_use
    fields["original_cost"] = take("original_cost", parse_vnd)
    fields["warranty_end"] = take("warranty_end", parse_date)
    fields["status"] = take("status", parse_status)
    fields["status_since"] = take("status_since", parse_date)
    fields["asset_class"] = take("asset_class", lambda v: parse_class(v, ctx.tables))
    fields["years_used_before_purchase"] = take("years_used_before_purchase", parse_int) or 0

    year = take("revaluation_year", parse_int)
    cost = take("revalued_cost", parse_vnd)
    remaining = take("revalued_remaining_value", parse_vnd)
    life = take("revalued_remaining_life", parse_int)
    if any(value is not None for value in (year, cost, remaining, life)):
        if year is None or cost is None:
            missing = "revaluation_year" if year is None else "revalued_cost"
            header = cells.get(missing, ("", None))[0] or field_of(missing).header_vi
            issues.append(
                _issue(
                    ctx,
                    row_number,
                    header,
                    CellError(
                        "incomplete_revaluation",
                        "đánh giá lại cần cả năm đánh giá lại và nguyên giá đánh giá lại",
                        "a revaluation needs both the revaluation year and the revalued cost",
                    ),
                    None,
                )
            )
        else:
            fields["revaluation"] = {
                "year": year,
                "cost": cost,
                "remaining_value": remaining,
                "remaining_life_years": life,
            }
    issues.extend(_order_issues(ctx, row_number, cells, fields))
    return fields, issues


def _order_issues(
    ctx: _Context, row_number: int, cells: dict[str, tuple[str, Any]], fields: dict[str, Any]
) -> list[ImportIssue]:
    """Checks across cells of one row, each located at the cell that contradicts the others.

    The model checks the same rules, but its errors carry no column; a finance officer needs
    to know which cell to correct.
    """
    out: list[ImportIssue] = []

    def issue(key: str, code: str, reason_vi: str, reason_en: str) -> None:
        header, value = cells.get(key, ("", None))
        out.append(
            _issue(
                ctx,
                row_number,
                header or field_of(key).header_vi,
                CellError(code, reason_vi, reason_en),
                value,
            )
        )

    start: date | None = fields.get("put_into_use")
    since: date | None = fields.get("status_since")
    if start is not None and since is not None and since < start:
        issue(
            "status_since",
            "date_order",
            f"ngày đổi trạng thái trước ngày đưa vào sử dụng ({start.strftime('%d/%m/%Y')})",
            f"status since is before the put-into-use date ({start.isoformat()})",
        )
    revaluation: dict[str, Any] | None = fields.get("revaluation")
    if revaluation is None:
        return out
    if start is not None and revaluation["year"] < start.year:
        issue(
            "revaluation_year",
            "date_order",
            f"năm đánh giá lại trước năm đưa vào sử dụng ({start.year})",
            f"revaluation year is before the year put into use ({start.year})",
        )
    remaining = revaluation["remaining_value"]
    if remaining is not None and remaining > revaluation["cost"]:
        issue(
            "revalued_remaining_value",
            "bad_cost",
            "giá trị còn lại lớn hơn nguyên giá đánh giá lại",
            "the remaining value is more than the revalued cost",
        )
    return out


def _validation_issues(
    ctx: _Context, row_number: int, cells: dict[str, tuple[str, Any]], exc: ValidationError
) -> list[ImportIssue]:
    out: list[ImportIssue] = []
    for error in exc.errors(include_url=False):
        loc = [str(part) for part in error["loc"]]
        key = loc[0] if loc else ""
        if key == "revaluation" and len(loc) > 1:
            key = {"year": "revaluation_year", "cost": "revalued_cost"}.get(
                loc[1], "revalued_remaining_value"
            )
        # An error the row checks did not foresee still names a cell: the row's asset tag.
        header = cells.get(key, ("", None))[0] if key else ""
        if not header:
            key = "asset_tag"
            header = cells[key][0]
        message = str(error["msg"]).removeprefix("Value error, ")
        out.append(
            ImportIssue(
                sheet=ctx.sheet,
                row=row_number,
                column=header,
                code="invalid",
                reason_vi=f"giá trị không hợp lệ: {message}",
                reason_en=f"invalid value: {message}",
                value=cell_text(cells.get(key, ("", None))[1])[:100],
            )
        )
    return out


def _read_sheet(
    raw: RawSheet, ctx: _Context
) -> tuple[list[Asset], list[_Identity], list[ImportIssue]]:
    issues: list[ImportIssue] = []
    columns: dict[int, RegisterField] = {}
    seen: dict[str, str] = {}
    for index, header in enumerate(raw.headers):
        normal = normalize_header(header)
        if not normal or normal in IGNORED_HEADERS:
            continue
        spec = FIELDS_BY_HEADER.get(normal)
        if spec is None:
            continue  # Offices add their own columns (ghi chú...): ignored, not an error.
        if spec.key in seen:
            issues.append(
                ImportIssue(
                    ctx.sheet,
                    raw.header_row,
                    header,
                    "duplicate_column",
                    f"cột trùng với cột {seen[spec.key]!r}",
                    f"same column as {seen[spec.key]!r}",
                )
            )
            continue
        seen[spec.key] = header
        columns[index] = spec
    for spec in REGISTER_FIELDS:
        if spec.required and spec.key not in seen:
            issues.append(
                ImportIssue(
                    ctx.sheet,
                    raw.header_row,
                    spec.header_vi,
                    "missing_column",
                    f"thiếu cột bắt buộc {spec.header_vi!r}",
                    f"required column {spec.header_en!r} ({spec.header_vi!r}) is missing",
                )
            )
    if issues:
        return [], [], issues

    assets: list[Asset] = []
    identities: list[_Identity] = []
    for row_number, values in raw.rows:
        cells = {
            spec.key: (raw.headers[index], values[index] if index < len(values) else None)
            for index, spec in columns.items()
        }
        tag_header, tag = cells["asset_tag"]
        serial_header, serial = cells.get("serial", (field_of("serial").header_vi, None))
        identities.append(
            _Identity(
                ctx.sheet, row_number, tag_header, cell_text(tag), serial_header, cell_text(serial)
            )
        )
        fields, row_issues = _row_fields(ctx, row_number, cells)
        if row_issues:
            issues.extend(row_issues)
            continue
        try:
            assets.append(Asset.model_validate(fields))
        except ValidationError as exc:
            issues.extend(_validation_issues(ctx, row_number, cells, exc))
    return assets, identities, issues


@dataclass(frozen=True)
class _Identity:
    """The tag and serial cells of one data row, as written (checked for duplicates)."""

    sheet: str
    row: int
    tag_header: str
    tag: str
    serial_header: str
    serial: str


def _duplicate_issues(
    identities: Sequence[_Identity],
    existing_tags: Collection[str],
    existing_serials: Collection[str],
) -> list[ImportIssue]:
    issues: list[ImportIssue] = []
    known = {
        "tag": {tag.strip().casefold() for tag in existing_tags},
        "serial": {serial.strip().casefold() for serial in existing_serials},
    }
    first_seen: dict[str, dict[str, tuple[str, int]]] = {"tag": {}, "serial": {}}
    words = {
        "tag": ("duplicate_tag", "mã tài sản", "asset tag"),
        "serial": ("duplicate_serial", "số serial", "serial"),
    }
    for ident in identities:
        for what, header, value in (
            ("tag", ident.tag_header, ident.tag),
            ("serial", ident.serial_header, ident.serial),
        ):
            if not value:
                continue
            code, name_vi, name_en = words[what]
            key = value.casefold()
            if key in known[what]:
                reason_vi = f"{name_vi} đã có trong sổ tài sản"
                reason_en = f"{name_en} is already in the register"
            elif key in first_seen[what]:
                first_sheet, first_row = first_seen[what][key]
                reason_vi = f"{name_vi} trùng với dòng {first_row} (trang {first_sheet!r})"
                reason_en = f"{name_en} repeats row {first_row} of sheet {first_sheet!r}"
            else:
                first_seen[what][key] = (ident.sheet, ident.row)
                continue
            issues.append(
                ImportIssue(ident.sheet, ident.row, header, code, reason_vi, reason_en, value)
            )
    return issues


def _import(
    sheets: Iterable[RawSheet],
    *,
    valid_communes: Collection[str],
    as_of: date | None,
    existing_tags: Collection[str],
    existing_serials: Collection[str],
    tables: LifeTables | None,
) -> list[Asset]:
    valid = valid_communes if isinstance(valid_communes, set | frozenset) else set(valid_communes)
    assets: list[Asset] = []
    identities: list[_Identity] = []
    issues: list[ImportIssue] = []
    for raw in sheets:
        ctx = _Context(raw.name, valid, as_of, tables)
        sheet_assets, sheet_identities, sheet_issues = _read_sheet(raw, ctx)
        assets.extend(sheet_assets)
        identities.extend(sheet_identities)
        issues.extend(sheet_issues)
    issues.extend(_duplicate_issues(identities, existing_tags, existing_serials))
    if issues:
        order = {
            raw_name: k for k, raw_name in enumerate(dict.fromkeys(i.sheet for i in identities))
        }
        issues.sort(key=lambda issue: (order.get(issue.sheet, -1), issue.row))
        raise RegisterRejected(issues)
    return assets


def source_bytes(source: bytes | Path, bounds: RegisterBounds | None = None) -> bytes:
    """The file's bytes; a path larger than ``max_bytes`` is refused before it is read."""
    bounds = bounds or RegisterBounds()
    if isinstance(source, bytes):
        check_size(len(source), bounds)
        return source
    try:
        check_size(source.stat().st_size, bounds)
        return source.read_bytes()
    except OSError as exc:
        raise RegisterFileError(f"cannot read {source}: {exc.strerror or exc}") from exc


def read_register_csv(
    source: bytes | Path,
    *,
    valid_communes: Collection[str],
    as_of: date | None = None,
    existing_tags: Collection[str] = (),
    existing_serials: Collection[str] = (),
    tables: LifeTables | None = None,
    sheet_name: str = "CSV",
    bounds: RegisterBounds | None = None,
) -> list[Asset]:
    """Every asset of a CSV register, or RegisterRejected with every problem (nothing imported).

    ``valid_communes`` is the set of known 5-digit commune codes; ``existing_tags`` and
    ``existing_serials`` are those already stored (a repeat is a duplicate); ``as_of`` rejects
    put-into-use dates after it; ``tables`` checks asset classes against the lives table;
    ``bounds`` (default ``RegisterBounds()``) limits what the file may hold.
    """
    bounds = bounds or RegisterBounds()
    raw = csv_sheet(source_bytes(source, bounds), sheet_name=sheet_name, bounds=bounds)
    if raw is None:
        raise RegisterFileError(
            "không tìm thấy dòng tiêu đề có cột 'Mã tài sản' trong 10 dòng đầu "
            "(no header row with an 'Asset tag' / 'Mã tài sản' column in the first 10 rows)"
        )
    return _import(
        [raw],
        valid_communes=valid_communes,
        as_of=as_of,
        existing_tags=existing_tags,
        existing_serials=existing_serials,
        tables=tables,
    )


def read_register_xlsx(
    source: bytes | Path,
    *,
    valid_communes: Collection[str],
    as_of: date | None = None,
    existing_tags: Collection[str] = (),
    existing_serials: Collection[str] = (),
    tables: LifeTables | None = None,
    bounds: RegisterBounds | None = None,
) -> list[Asset]:
    """Every asset of an XLSX register (every sheet with a 'Mã tài sản' header), all or nothing.

    Sheets without such a header (instructions, summaries) are skipped. Parameters as for
    ``read_register_csv``.
    """
    bounds = bounds or RegisterBounds()
    sheets = xlsx_sheets(source_bytes(source, bounds), bounds=bounds)
    if not sheets:
        raise RegisterFileError(
            "không trang nào có dòng tiêu đề với cột 'Mã tài sản' "
            "(no sheet has a header row with an 'Asset tag' / 'Mã tài sản' column)"
        )
    return _import(
        sheets,
        valid_communes=valid_communes,
        as_of=as_of,
        existing_tags=existing_tags,
        existing_serials=existing_serials,
        tables=tables,
    )


def read_register(
    source: bytes | Path,
    *,
    filename: str | None = None,
    valid_communes: Collection[str],
    as_of: date | None = None,
    existing_tags: Collection[str] = (),
    existing_serials: Collection[str] = (),
    tables: LifeTables | None = None,
    bounds: RegisterBounds | None = None,
) -> list[Asset]:
    """Import a register, choosing CSV or XLSX from the file name (or the content)."""
    bounds = bounds or RegisterBounds()
    name = filename or (source.name if isinstance(source, Path) else "")
    data = source_bytes(source, bounds)
    is_xlsx = name.lower().endswith((".xlsx", ".xlsm")) or (not name and data[:2] == b"PK")
    reader = read_register_xlsx if is_xlsx else read_register_csv
    if not is_xlsx and not name.lower().endswith((".csv", ".txt")) and name:
        raise RegisterFileError(f"unsupported file type {name!r}: use .xlsx or .csv")
    return reader(
        data,
        valid_communes=valid_communes,
        as_of=as_of,
        existing_tags=existing_tags,
        existing_serials=existing_serials,
        tables=tables,
        bounds=bounds,
    )
