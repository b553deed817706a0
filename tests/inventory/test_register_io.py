"""The register's historical module still offers what other packages import from it."""

from __future__ import annotations

from inventory import (
    register_cells,
    register_columns,
    register_io,
    register_reader,
    register_writer,
)


def test_historical_names_are_the_split_modules_own() -> None:
    assert register_io.read_register is register_reader.read_register
    assert register_io.read_register_csv is register_reader.read_register_csv
    assert register_io.read_register_xlsx is register_reader.read_register_xlsx
    assert register_io.register_to_csv is register_writer.register_to_csv
    assert register_io.register_to_xlsx is register_writer.register_to_xlsx
    assert register_io.register_sheet is register_writer.register_sheet
    assert register_io.REGISTER_FIELDS is register_columns.REGISTER_FIELDS
    assert register_io.normalize_header is register_columns.normalize_header
    assert register_io.parse_vnd is register_cells.parse_vnd
    assert set(register_io.__all__) <= set(dir(register_io))
