"""Replacement prices: one per kind, a class's own where listed, every kind priced."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from inventory.errors import ConfigError
from inventory.models import Asset, AssetKind
from inventory.prices import load_price_table


def test_every_kind_is_priced_and_every_price_cites_a_source() -> None:
    table = load_price_table()
    assert set(table.kinds) == set(AssetKind)
    for entry in (*table.kinds.values(), *table.classes.values()):
        assert entry.price_vnd > 0
        assert entry.source
    assert table.kinds[AssetKind.PRINTER].price_vnd == 4_800_000


def test_a_class_price_comes_before_the_kind_price() -> None:
    table = load_price_table()
    pc = Asset(asset_tag="T", kind="pc", commune_code="00070", put_into_use=date(2024, 1, 1))
    assert table.price_for(pc) is table.kinds[AssetKind.PC]
    for class_id, entry in table.classes.items():
        assert table.price_for(pc, class_id) is entry
    assert table.price_for(pc, "no_such_class") is table.kinds[AssetKind.PC]


def test_a_table_without_some_kinds_names_them(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(
        "schema: 1\nversion: t\nsource: test\nkinds:\n  pc:\n    price_vnd: 1\n"
        "    item_vi: a\n    item_en: a\n    verified: false\n    source: s\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="no price for") as caught:
        load_price_table(path)
    assert "printer" in str(caught.value)
    assert str(path) in str(caught.value)
