"""Reconciliation of the stored register with the stored device state (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine

from inventory.models import Asset, AssetKind, AssetStatus
from inventory.reconcile import (
    normalize_serial,
    reconcile_store,
    summary_counts,
)
from inventory.register_writer import register_to_csv
from inventory.store import import_register
from tests.inventory.builders import NOW, add_agent, add_device

COMMUNE = "13285"  # Phường Châu Sơn, Ninh Bình (the province of the engine fixture)
OTHER = "13291"  # Phường Phủ Lý


def make(tag: str, kind: AssetKind, commune: str = COMMUNE, **extra: object) -> Asset:
    fields: dict[str, object] = {
        "asset_tag": tag,
        "kind": kind,
        "commune_code": commune,
        "put_into_use": date(2020, 5, 1),
        "original_cost": 15_000_000,
    }
    fields.update(extra)
    return Asset.model_validate(fields)


def register(engine: Engine, assets: list[Asset]) -> None:
    import_register(engine, register_to_csv(assets), filename="r.csv", now=NOW)


def test_matched_missing_unrecorded_and_mismatched(engine: Engine) -> None:
    register(
        engine,
        [
            # Matched by serial, same model up to the brand prefix firmware adds.
            make("PC-01", AssetKind.PC, serial="CN-123 45", model="OptiPlex 3080"),
            # Matched by hostname = asset tag, but the board reports another serial and model.
            make("PC-02", AssetKind.PC, serial="OLD777", model="ProDesk 400 G6"),
            # In use, discoverable, in a reporting commune, never seen: missing.
            make("PR-01", AssetKind.PRINTER, serial="PRN0001", model="B433dn"),
            # A USB scanner is never discovered: not missing.
            make("SC-01", AssetKind.SCANNER, serial="SCN0001"),
            # Registered as retired but still reporting: a status mismatch.
            make("PR-02", AssetKind.PRINTER, serial="PRN0002", status=AssetStatus.RETIRED),
            # Another commune with no agent at all: its lines are not reported missing.
            make("PC-09", AssetKind.PC, commune=OTHER, serial="FAR0009"),
        ],
    )
    add_agent(engine, "agent-1", COMMUNE)
    add_device(
        engine,
        device_id="pc-a",
        kind="pc",
        facts={"serial": "cn12345", "model": "Dell OptiPlex 3080", "hostname": "quay1"},
        agent_id="agent-1",
        commune_code=COMMUNE,
    )
    add_device(
        engine,
        device_id="pc-b",
        kind="pc",
        facts={"serial": "NEW888", "model": "ProDesk 600 G4", "hostname": "pc-02"},
        agent_id="agent-1",
        commune_code=COMMUNE,
    )
    add_device(
        engine,
        device_id="snmp-10.0.0.9",
        kind="mfp",
        facts={"serial": "PRN0002", "model": "B433dn"},
        agent_id="agent-1",
        commune_code=COMMUNE,
    )
    # A placeholder serial must not match anything; this PC is unrecorded.
    add_device(
        engine,
        device_id="pc-c",
        kind="pc",
        facts={"serial": "To be filled by O.E.M.", "hostname": "ketoan"},
        agent_id="agent-1",
        commune_code=COMMUNE,
    )
    # A probed web service is not equipment.
    add_device(
        engine,
        device_id="dichvucong",
        kind="service",
        facts={},
        agent_id="agent-1",
        commune_code=COMMUNE,
    )

    result = reconcile_store(engine)

    by_tag = {match.asset.asset_tag: match for match in result.matched}
    assert sorted(by_tag) == ["PC-01", "PC-02", "PR-02"]
    assert by_tag["PC-01"].matched_by == "serial"
    assert by_tag["PC-01"].mismatches == ()
    assert by_tag["PC-02"].matched_by == "name"
    assert {m.field for m in by_tag["PC-02"].mismatches} == {"serial", "model"}
    # printer registered, mfp seen: compatible kinds; retired yet reporting: status.
    assert [m.field for m in by_tag["PR-02"].mismatches] == ["status"]
    assert [a.asset_tag for a in result.missing] == ["PR-01"]
    assert [d.device_id for d in result.unrecorded] == ["pc-c"]
    assert {m.asset.asset_tag for m in result.mismatched} == {"PC-02", "PR-02"}
    assert [count for _, _, count in summary_counts(result)] == [3, 2, 1, 1]


def test_device_in_another_commune_and_wrong_kind_are_mismatches(engine: Engine) -> None:
    register(engine, [make("RT-01", AssetKind.ROUTER, serial="RTR123456")])
    add_agent(engine, "agent-2", OTHER)
    add_device(
        engine,
        agent_id="agent-2",
        commune_code=OTHER,
        device_id="sw-1",
        kind="switch",
        facts={"serial": "RTR123456"},
    )
    result = reconcile_store(engine)
    [match] = result.matched
    assert {(m.field, m.register_value, m.seen_value) for m in match.mismatches} == {
        ("commune_code", COMMUNE, OTHER),
        ("kind", "router", "switch"),
    }
    assert result.missing == ()
    only_other = reconcile_store(engine, commune_code=OTHER)
    assert only_other.matched == ()
    assert [d.device_id for d in only_other.unrecorded] == ["sw-1"]


def test_placeholder_serials_are_ignored() -> None:
    assert normalize_serial("To be filled by O.E.M.") is None
    assert normalize_serial("Default string") is None
    assert normalize_serial("0000000") is None
    assert normalize_serial("  ") is None
    assert normalize_serial("cn-123 45") == "CN12345"
