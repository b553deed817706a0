"""The lives table: versioned data with sources, checks that name file, key and field."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from inventory.errors import ConfigError, OverrideOutOfRange
from inventory.lives import (
    DEFAULT_LIVES_PATH,
    LifeTables,
    ProvinceOverrides,
    apply_province_overrides,
    load_life_tables,
    load_province_overrides,
)
from inventory.models import AssetKind


def test_packaged_table_has_both_circulars_with_domain_values(tables: LifeTables) -> None:
    assert [rule_set.circular for rule_set in tables.rule_sets] == [
        "23/2023/TT-BTC",
        "141/2025/TT-BTC",
    ]
    assert tables.rule_set_for(2025).id == "tt23_2023"
    assert tables.rule_set_for(2026).id == "tt141_2025"
    assert tables.rule_set_for(2015).id == "tt23_2023"
    assert tables.rule_set_for(2040).id == "tt141_2025"
    desktop_23 = tables.rate(2025, "desktop_pc")
    desktop_141 = tables.rate(2026, "desktop_pc")
    assert (desktop_23.life_years, desktop_23.rate_percent) == (5, Decimal(20))
    assert (desktop_141.life_years, desktop_141.rate_percent) == (7, Decimal("14.29"))
    assert tables.rate(2026, "other_equipment").life_years == 5
    assert tables.rule_sets[1].transition_from_previous == "art_18_1"


def test_every_value_is_marked_unverified_and_cites_a_source(tables: LifeTables) -> None:
    for rule_set in tables.rule_sets:
        for rate in rule_set.rates.values():
            assert rate.verified is False
            assert rate.source


def test_every_kind_has_a_class(tables: LifeTables) -> None:
    assert set(tables.kind_to_class) == set(AssetKind)
    assert tables.kind_to_class[AssetKind.PC] == "desktop_pc"
    assert tables.kind_to_class[AssetKind.ROUTER] == "other_equipment"


def write_variant(tmp_path: Path, change) -> Path:
    data = yaml.safe_load(DEFAULT_LIVES_PATH.read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "lives.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_bad_rate_names_file_key_and_field(tmp_path: Path) -> None:
    def negative_rate(data: dict[str, Any]) -> None:
        data["rule_sets"][1]["rates"]["desktop_pc"]["rate_percent"] = "-5"

    path = write_variant(tmp_path, negative_rate)
    with pytest.raises(ConfigError) as caught:
        load_life_tables(path)
    error = caught.value
    assert error.file == str(path)
    assert error.key == "rule_sets[1].rates.desktop_pc"
    assert error.field == "rate_percent"
    assert "lives.yaml rule_sets[1].rates.desktop_pc, field 'rate_percent'" in str(error)


def test_life_must_match_rate(tmp_path: Path) -> None:
    def wrong_life(data: dict[str, Any]) -> None:
        data["rule_sets"][0]["rates"]["printer"]["life_years"] = 6

    with pytest.raises(ConfigError, match=r"rates\.printer.*life_years 6 does not match"):
        load_life_tables(write_variant(tmp_path, wrong_life))


def test_every_class_needs_a_rate_in_every_rule_set(tmp_path: Path) -> None:
    def drop_scanner(data: dict[str, Any]) -> None:
        del data["rule_sets"][0]["rates"]["document_scanner"]

    with pytest.raises(ConfigError, match="missing \\['document_scanner'\\]"):
        load_life_tables(write_variant(tmp_path, drop_scanner))


def test_rule_sets_must_follow_each_other(tmp_path: Path) -> None:
    def gap(data: dict[str, Any]) -> None:
        data["rule_sets"][1]["first_fiscal_year"] = 2027

    with pytest.raises(ConfigError, match="must start in 2026"):
        load_life_tables(write_variant(tmp_path, gap))


def test_unknown_field_and_bad_yaml_are_config_errors(tmp_path: Path) -> None:
    def extra(data: dict[str, Any]) -> None:
        data["rule_sets"][0]["rates"]["printer"]["colour"] = "red"

    with pytest.raises(ConfigError, match="field 'colour'"):
        load_life_tables(write_variant(tmp_path, extra))
    broken = tmp_path / "broken.yaml"
    broken.write_text("rule_sets: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_life_tables(broken)
    with pytest.raises(ConfigError, match="cannot read"):
        load_life_tables(tmp_path / "missing.yaml")


def overrides(rate: str, asset_class: str = "desktop_pc", **extra: object) -> ProvinceOverrides:
    return ProvinceOverrides.model_validate(
        {
            "schema": 1,
            "province": "Tỉnh Lai Châu",
            "overrides": [
                {
                    "rule_set": extra.pop("rule_set", "tt141_2025"),
                    "asset_class": asset_class,
                    "rate_percent": rate,
                    "decision": "QĐ 12/2026/QĐ-UBND",
                    **extra,
                }
            ],
        }
    )


@pytest.mark.parametrize(("rate", "life"), [("17.148", 6), ("11.432", 9), ("16", 7), ("24", 5)])
def test_overrides_within_twenty_percent_are_applied(
    tables: LifeTables, rate: str, life: int
) -> None:
    asset_class = "other_equipment" if rate == "24" else "desktop_pc"
    applied = apply_province_overrides(tables, overrides(rate, asset_class))
    result = applied.rate(2026, asset_class)
    assert (result.rate_percent, result.life_years) == (Decimal(rate), life)
    assert result.override_decision == "QĐ 12/2026/QĐ-UBND"
    assert applied.province == "Tỉnh Lai Châu"


@pytest.mark.parametrize("rate", ["17.8625", "11.43", "30"])
def test_overrides_beyond_twenty_percent_are_rejected(tables: LifeTables, rate: str) -> None:
    with pytest.raises(OverrideOutOfRange, match=r"11\.432 % to 17\.148 %"):
        apply_province_overrides(tables, overrides(rate))


def test_override_errors_name_the_field(tables: LifeTables) -> None:
    with pytest.raises(ConfigError, match=r"field 'asset_class'.*unknown class 'tablet'"):
        apply_province_overrides(tables, overrides("16", "tablet"))
    with pytest.raises(ConfigError, match="field 'rule_set'"):
        apply_province_overrides(tables, overrides("16", rule_set="tt99_2030"))
    with pytest.raises(ConfigError, match=r"field 'life_years'.*wears the cost out in 7 years"):
        apply_province_overrides(tables, overrides("16", life_years=6))


def test_overrides_file_round_trip(tmp_path: Path, tables: LifeTables) -> None:
    path = tmp_path / "lai_chau.yaml"
    path.write_text(
        "schema: 1\n"
        "province: Tỉnh Lai Châu\n"
        "overrides:\n"
        "  - rule_set: tt141_2025\n"
        "    asset_class: desktop_pc\n"
        "    rate_percent: '17.148'\n"
        "    decision: QĐ 12/2026/QĐ-UBND, điều kiện khí hậu vùng cao\n",
        encoding="utf-8",
    )
    applied = apply_province_overrides(tables, load_province_overrides(path), file=str(path))
    assert applied.rate(2026, "desktop_pc").life_years == 6


def test_province_override_of_plus_twenty_five_percent_is_rejected(tables: LifeTables) -> None:
    # 14.29 % × 1.25 = 17.8625 % is more than 17.148 %, the +20 % limit of Art. 13.1a.
    with pytest.raises(OverrideOutOfRange) as caught:
        apply_province_overrides(tables, overrides("17.8625"), file="overrides.yaml")
    error = caught.value
    assert error.field == "rate_percent"
    assert error.key == "overrides[0]"
    assert "±20" in str(error)
    assert "+25.00 %" in str(error)
    assert "overrides.yaml" in str(error)
