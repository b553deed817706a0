"""Printer supplies and paper trays (RFC 3805): levels as states with a reason, vendor quirks.

prtMarkerSuppliesLevel is a number in the supply's own unit, or one of three special values
(RFC 3805 §2.2 and the prtMarkerSuppliesLevel DESCRIPTION): -1 "other" (no restriction), -2
"unknown", -3 "some remaining". Those are states, never numbers, so no percent is made up for
them. Vendors add their own values and habits; ``profiles.yaml`` lists them as data
(``supply_levels`` and ``level_quirks``), and each state carries the reason it was chosen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from agent.checks.snmp.emit import Emitter
from agent.checks.snmp.profiles import (
    LevelQuirk,
    ProfileDefaults,
    SupplyStateName,
    VendorLevel,
    VendorProfile,
)
from agent.checks.snmp.text import device_label
from agent.checks.snmp.values import Oid, Value, as_int, as_text
from agent.checks.snmp.walk import Column
from agent.wire import Severity

_PRT_INPUT = (1, 3, 6, 1, 2, 1, 43, 8, 2, 1)  # prtInputEntry
PRT_INPUT_MAX = (*_PRT_INPUT, 9)
PRT_INPUT_LEVEL = (*_PRT_INPUT, 10)
PRT_INPUT_NAME = (*_PRT_INPUT, 13)
_PRT_SUPPLIES = (1, 3, 6, 1, 2, 1, 43, 11, 1, 1)  # prtMarkerSuppliesEntry
SUPPLY_COLORANT = (*_PRT_SUPPLIES, 3)
SUPPLY_CLASS = (*_PRT_SUPPLIES, 4)
SUPPLY_TYPE = (*_PRT_SUPPLIES, 5)
SUPPLY_DESCRIPTION = (*_PRT_SUPPLIES, 6)
SUPPLY_MAX = (*_PRT_SUPPLIES, 8)
SUPPLY_LEVEL = (*_PRT_SUPPLIES, 9)
COLORANT_VALUE = (1, 3, 6, 1, 2, 1, 43, 12, 1, 1, 4)  # prtMarkerColorantValue

SUPPLY_COLUMNS: tuple[Oid, ...] = (
    SUPPLY_COLORANT, SUPPLY_CLASS, SUPPLY_TYPE, SUPPLY_DESCRIPTION, SUPPLY_MAX, SUPPLY_LEVEL,
    COLORANT_VALUE, PRT_INPUT_MAX, PRT_INPUT_LEVEL, PRT_INPUT_NAME,
)  # fmt: skip
"""Columns of the supply and input tables, walked on every poll of a printer."""

# IANA-PRINTER-MIB PrtMarkerSuppliesTypeTC (RFC 3805 §5; 35/36 added by IANA later).
SUPPLY_TYPES = (
    "", "other", "unknown", "toner", "wasteToner", "ink", "inkCartridge", "inkRibbon",
    "wasteInk", "opc", "developer", "fuserOil", "solidWax", "ribbonWax", "wasteWax", "fuser",
    "coronaWire", "fuserOilWick", "cleanerUnit", "fuserCleaningPad", "transferUnit",
    "tonerCartridge", "fuserOiler", "water", "wasteWater", "glueWaterAdditive", "wastePaper",
    "bindingSupply", "bandingSupply", "stitchingWire", "shrinkWrap", "paperWrap", "staples",
    "inserts", "covers", "matteToner", "matteInk",
)  # fmt: skip
_RECEPTACLE = 4  # prtMarkerSuppliesClass receptacleThatIsFilled: the level is the space left
_NO_COLOUR = frozenset({"unknown", "none"})

# Why a state was chosen (the 'reason' label); vendor and quirk reasons come from profiles.yaml.
MEASURED = "measured"  # a level against a known maximum
NO_CAPACITY = "no_capacity"  # a level, but the maximum is unknown: no percent
NOT_REPORTED = "not_reported"  # the row has no usable level
RFC3805_OTHER = "rfc3805_other"  # -1
RFC3805_UNKNOWN = "rfc3805_unknown"  # -2
RFC3805_SOME_REMAINING = "rfc3805_some_remaining"  # -3
OUT_OF_RANGE = "out_of_range"  # another negative value no profile explains
_SPECIAL: dict[int, tuple[SupplyStateName, str]] = {
    -1: ("other", RFC3805_OTHER),
    -2: ("unknown", RFC3805_UNKNOWN),
    -3: ("some_remaining", RFC3805_SOME_REMAINING),
}


@dataclass(frozen=True, slots=True)
class Level:
    """A decoded level: its state and why, and the numbers only where they are numbers."""

    state: SupplyStateName
    reason: str
    raw: int | None
    capacity: int | None
    percent: float | None


@dataclass(frozen=True, slots=True)
class Supply:
    """One marker supply row, decoded, with the raw values its quirks are judged on."""

    index: Oid
    labels: dict[str, str]
    reported_level: int | None
    reported_capacity: int | None
    receptacle: bool
    level: Level


def decode_level(
    level: int | None,
    capacity: int | None,
    *,
    low_percent: float,
    vendor_levels: Mapping[int, VendorLevel],
) -> Level:
    """The state, reason and percent of a supply or tray level (RFC 3805)."""
    known_capacity = capacity if capacity is not None and capacity >= 0 else None
    if level is None:
        return Level("unknown", NOT_REPORTED, None, known_capacity, None)
    vendor = vendor_levels.get(level)
    if vendor is not None:
        return Level(vendor.state, vendor.reason, None, known_capacity, None)
    if level < 0:
        special, why = _SPECIAL.get(level, ("unknown", OUT_OF_RANGE))
        return Level(special, why, None, known_capacity, None)
    percent = None
    if known_capacity:
        percent = min(100.0, level * 100.0 / known_capacity)
    reason = MEASURED if percent is not None else NO_CAPACITY
    state: SupplyStateName = "ok"
    if level == 0:
        state = "empty"
    elif percent is not None and percent <= low_percent:
        state = "low"
    return Level(state, reason, level, known_capacity, percent)


def clean_description(text: str, cuts: Sequence[str]) -> str:
    """The supply description without the vendor suffixes listed in profiles.yaml."""
    for cut in cuts:
        position = text.find(cut)
        if position > 0:
            text = text[:position]
    return text.strip()


def colour_from_words(text: str, words: Mapping[str, str]) -> str | None:
    """A colour named in a description ('Cyan Toner' → 'cyan'), or None."""
    lowered = text.lower()
    for word, colour in words.items():
        if word in lowered:
            return colour
    return None


def _ints(column: Column, name: Oid, emit: Emitter) -> dict[Oid, int]:
    result: dict[Oid, int] = {}
    for index, value in column.items():
        number = as_int(value)
        if number is None:
            emit.invalid(name, index, "an INTEGER", value)
        else:
            result[index] = number
    return result


def short_index(index: Oid, multi: bool) -> str:
    """A supply/tray row index as users see it on the device.

    Rows are indexed (hrDeviceIndex, n); with one printer the n is the name users see on the
    device, so drop the hrDeviceIndex unless there are several.
    """
    return ".".join(map(str, index)) if multi or len(index) != 2 else str(index[1])


def _label(value: Value | None) -> str:
    return device_label(value) if isinstance(value, bytes) else ""


def read_supplies(
    columns: dict[Oid, Column],
    emit: Emitter,
    *,
    vendor: VendorProfile | None,
    defaults: ProfileDefaults,
    low_percent: float,
) -> list[Supply]:
    """Decode every marker supply row (before quirks)."""
    levels = _ints(columns.get(SUPPLY_LEVEL, {}), SUPPLY_LEVEL, emit)
    capacities = _ints(columns.get(SUPPLY_MAX, {}), SUPPLY_MAX, emit)
    types = _ints(columns.get(SUPPLY_TYPE, {}), SUPPLY_TYPE, emit)
    classes = columns.get(SUPPLY_CLASS, {})
    descriptions = columns.get(SUPPLY_DESCRIPTION, {})
    vendor_levels = vendor.supply_levels if vendor else {}
    rows = sorted(set(levels) | set(capacities) | set(descriptions))
    multi = len({row[:1] for row in rows}) > 1
    supplies = []
    for index in rows:
        name = short_index(index, multi)
        description = clean_description(
            _label(descriptions.get(index)), defaults.supply_description_cuts
        )
        description = description or f"supply {name}"
        type_number = types.get(index)
        type_name = "unknown"
        if type_number is not None:
            known = 0 < type_number < len(SUPPLY_TYPES)
            type_name = SUPPLY_TYPES[type_number] if known else str(type_number)
        labels = {
            "supply": name,
            "description": description,
            "type": type_name,
            "colour": _colour(index, columns, description, defaults),
        }
        level = decode_level(
            levels.get(index),
            capacities.get(index),
            low_percent=low_percent,
            vendor_levels=vendor_levels,
        )
        supplies.append(
            Supply(
                index=index,
                labels=labels,
                reported_level=levels.get(index),
                reported_capacity=capacities.get(index),
                receptacle=as_int(classes.get(index)) == _RECEPTACLE,
                level=level,
            )
        )
    return supplies


def _colour(
    index: Oid, columns: dict[Oid, Column], description: str, defaults: ProfileDefaults
) -> str:
    colorant = as_int(columns.get(SUPPLY_COLORANT, {}).get(index))
    if colorant == 0:  # RFC 3805: 0 = this supply has no colorant (drum, fuser, waste box)
        return "none"
    if colorant is not None and index:
        name = as_text(columns.get(COLORANT_VALUE, {}).get((index[0], colorant)), 40)
        if name:
            return name.lower()
    return colour_from_words(description, defaults.colour_words) or "unknown"


def quirk_applies(
    quirk: LevelQuirk, supply: Supply, others: Sequence[Supply], errors: frozenset[str]
) -> bool:
    """True if ``quirk`` explains ``supply``'s reported level in this context."""
    if supply.reported_level != quirk.level:
        return False
    capacity = supply.reported_capacity
    unknown_capacity = capacity is None or capacity <= 0
    if quirk.max_capacity == "unknown" and not unknown_capacity:
        return False
    if quirk.max_capacity == "known" and unknown_capacity:
        return False
    if quirk.types and supply.labels["type"] not in quirk.types:
        return False
    if errors & set(quirk.unless_errors):
        return False  # the printer itself confirms the level: it is no quirk
    if quirk.sibling_state is None:
        return True
    colour = supply.labels["colour"]
    return colour not in _NO_COLOUR and any(
        other is not supply
        and other.labels["colour"] == colour
        and other.labels["type"] == supply.labels["type"]
        and other.level.state == quirk.sibling_state
        for other in others
    )


def apply_quirks(
    supplies: Sequence[Supply],
    quirks: Sequence[LevelQuirk],
    errors: Mapping[int, frozenset[str]],
) -> list[Supply]:
    """The supplies with every quirky level re-read as its quirk's state (first match wins)."""
    result = []
    for supply in supplies:
        active = errors.get(supply.index[0], frozenset()) if supply.index else frozenset()
        for quirk in quirks:
            if quirk_applies(quirk, supply, supplies, active):
                level = replace(
                    supply.level, state=quirk.state, reason=quirk.reason, raw=None, percent=None
                )
                supply = replace(supply, level=level)
                break
        result.append(supply)
    return result


def emit_supplies(supplies: Sequence[Supply], emit: Emitter) -> None:
    """Samples for every supply and a ``printer_supply_low`` event for low or empty ones."""
    for supply in supplies:
        labels, level = supply.labels, supply.level
        if level.raw is not None:
            emit.sample("printer_supply_level_raw", level.raw, labels)
        if level.capacity is not None:
            emit.sample("printer_supply_capacity_raw", level.capacity, labels)
        if level.percent is not None:
            emit.sample("printer_supply_level_percent", round(level.percent, 2), labels)
        emit.sample(
            "printer_supply_state", 1, {**labels, "state": level.state, "reason": level.reason}
        )
        if level.state not in ("low", "empty"):
            continue
        if supply.receptacle:
            what = "almost full" if level.state == "low" else "full"
        else:
            what = "low" if level.state == "low" else "empty"
        shown = f" ({level.percent:.0f} %)" if level.percent is not None else ""
        emit.event(
            "printer_supply_low",
            Severity.WARNING if level.state == "low" else Severity.CRITICAL,
            f"{labels['description']} is {what}{shown}",
            {
                **labels,
                "state": level.state,
                "reason": level.reason,
                "percent": "" if level.percent is None else f"{level.percent:.0f}",
                "problem_class": "printer_supply_low",
            },
        )


def decode_inputs(
    columns: dict[Oid, Column],
    emit: Emitter,
    *,
    vendor: VendorProfile | None,
    low_percent: float,
) -> None:
    """Samples for every paper tray (prtInputTable)."""
    levels = _ints(columns.get(PRT_INPUT_LEVEL, {}), PRT_INPUT_LEVEL, emit)
    capacities = _ints(columns.get(PRT_INPUT_MAX, {}), PRT_INPUT_MAX, emit)
    names = columns.get(PRT_INPUT_NAME, {})
    vendor_levels = vendor.supply_levels if vendor else {}
    rows = sorted(set(levels) | set(capacities))
    multi = len({row[:1] for row in rows}) > 1
    for index in rows:
        tray = short_index(index, multi)
        labels = {"input": tray, "description": _label(names.get(index)) or f"input {tray}"}
        level = decode_level(
            levels.get(index),
            capacities.get(index),
            low_percent=low_percent,
            vendor_levels=vendor_levels,
        )
        if level.raw is not None:
            emit.sample("printer_input_level_raw", level.raw, labels)
        if level.capacity is not None:
            emit.sample("printer_input_capacity_raw", level.capacity, labels)
        if level.percent is not None:
            emit.sample("printer_input_level_percent", round(level.percent, 2), labels)
        emit.sample(
            "printer_input_state", 1, {**labels, "state": level.state, "reason": level.reason}
        )
