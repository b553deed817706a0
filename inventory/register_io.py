"""The register's import and export under their historical names, for other packages.

The code lives in one module per concern: ``register_columns`` (the columns and their headers),
``register_cells`` (parsers of one cell), ``register_limits`` (the import bounds),
``register_csv`` and ``register_xlsx`` with ``xlsx_guard`` (reading a file within the bounds),
``register_reader`` (rows to assets, all or nothing) and ``register_writer`` (the export).
"""

from __future__ import annotations

from inventory.errors import ImportIssue
from inventory.register_cells import parse_vnd
from inventory.register_columns import REGISTER_FIELDS, RegisterField, normalize_header
from inventory.register_limits import RegisterBounds
from inventory.register_reader import (
    read_register,
    read_register_csv,
    read_register_xlsx,
)
from inventory.register_writer import register_sheet, register_to_csv, register_to_xlsx
from inventory.tables import to_csv, to_xlsx

__all__ = [
    "REGISTER_FIELDS",
    "ImportIssue",
    "RegisterBounds",
    "RegisterField",
    "normalize_header",
    "parse_vnd",
    "read_register",
    "read_register_csv",
    "read_register_xlsx",
    "register_sheet",
    "register_to_csv",
    "register_to_xlsx",
    "to_csv",
    "to_xlsx",
]
