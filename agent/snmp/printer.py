"""Printers and MFPs: Printer-MIB (RFC 3805) and HOST-RESOURCES-MIB (RFC 2790) decoding.

Supplies, paper trays, page counter, device and printer status, the detected-error bit string
and the alert table become samples and events. Levels follow RFC 3805 §2.2/prtMarkerSuppliesLevel:
-1 means "other" (no restriction), -2 "unknown" and -3 "some remaining"; those are states, never
numbers, so no percent is made up for them.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.snmp.emit import Emitter
from agent.snmp.profiles import ProfileDefaults, SupplyStateName, VendorProfile
from agent.snmp.values import Oid, as_int, as_text
from agent.snmp.walk import Column
from agent.wire import Severity

# --- OIDs -------------------------------------------------------------------------------------
_HR_DEVICE = (1, 3, 6, 1, 2, 1, 25, 3, 2, 1)  # hrDeviceEntry, RFC 2790
HR_DEVICE_TYPE = (*_HR_DEVICE, 2)
HR_DEVICE_DESCR = (*_HR_DEVICE, 3)
HR_DEVICE_STATUS = (*_HR_DEVICE, 5)
HR_DEVICE_PRINTER = (1, 3, 6, 1, 2, 1, 25, 3, 1, 5)  # hrDevicePrinter
HR_PRINTER_STATUS = (1, 3, 6, 1, 2, 1, 25, 3, 5, 1, 1)
HR_PRINTER_ERROR_STATE = (1, 3, 6, 1, 2, 1, 25, 3, 5, 1, 2)  # hrPrinterDetectedErrorState

PRT_GENERAL_SERIAL = (1, 3, 6, 1, 2, 1, 43, 5, 1, 1, 17)  # prtGeneralSerialNumber
_PRT_INPUT = (1, 3, 6, 1, 2, 1, 43, 8, 2, 1)
PRT_INPUT_MAX = (*_PRT_INPUT, 9)
PRT_INPUT_LEVEL = (*_PRT_INPUT, 10)
PRT_INPUT_NAME = (*_PRT_INPUT, 13)
PRT_MARKER_LIFE_COUNT = (1, 3, 6, 1, 2, 1, 43, 10, 2, 1, 4)
_PRT_SUPPLIES = (1, 3, 6, 1, 2, 1, 43, 11, 1, 1)
SUPPLY_COLORANT = (*_PRT_SUPPLIES, 3)
SUPPLY_CLASS = (*_PRT_SUPPLIES, 4)
SUPPLY_TYPE = (*_PRT_SUPPLIES, 5)
SUPPLY_DESCRIPTION = (*_PRT_SUPPLIES, 6)
SUPPLY_MAX = (*_PRT_SUPPLIES, 8)
SUPPLY_LEVEL = (*_PRT_SUPPLIES, 9)
COLORANT_VALUE = (1, 3, 6, 1, 2, 1, 43, 12, 1, 1, 4)  # prtMarkerColorantValue
_PRT_ALERT = (1, 3, 6, 1, 2, 1, 43, 18, 1, 1)
ALERT_SEVERITY = (*_PRT_ALERT, 2)
ALERT_GROUP = (*_PRT_ALERT, 4)
ALERT_CODE = (*_PRT_ALERT, 7)
ALERT_DESCRIPTION = (*_PRT_ALERT, 8)

PRINTER_COLUMNS: tuple[Oid, ...] = (
    HR_DEVICE_TYPE, HR_DEVICE_STATUS, HR_PRINTER_STATUS, HR_PRINTER_ERROR_STATE,
    SUPPLY_COLORANT, SUPPLY_CLASS, SUPPLY_TYPE, SUPPLY_DESCRIPTION, SUPPLY_MAX, SUPPLY_LEVEL,
    COLORANT_VALUE, PRT_INPUT_MAX, PRT_INPUT_LEVEL, PRT_INPUT_NAME, PRT_MARKER_LIFE_COUNT,
    ALERT_SEVERITY, ALERT_GROUP, ALERT_CODE, ALERT_DESCRIPTION,
)  # fmt: skip
"""Columns walked on every poll of a printer."""

PRINTER_FACT_COLUMNS: tuple[Oid, ...] = (PRT_GENERAL_SERIAL, HR_DEVICE_DESCR)
"""Columns walked when the printer's facts (serial, model) are refreshed."""

# --- RFC 2790 hrPrinterDetectedErrorState: bit 0 is the most significant bit of octet 1 ---------
# (name, problem class, severity)
ERROR_CONDITIONS: tuple[tuple[str, str, Severity], ...] = (
    ("low_paper", "printer_supply_low", Severity.WARNING),
    ("no_paper", "printer_supply_low", Severity.CRITICAL),
    ("low_toner", "printer_supply_low", Severity.WARNING),
    ("no_toner", "printer_supply_low", Severity.CRITICAL),
    ("door_open", "printer_fault", Severity.CRITICAL),
    ("jammed", "printer_fault", Severity.CRITICAL),
    ("offline", "printer_fault", Severity.CRITICAL),
    ("service_requested", "printer_fault", Severity.WARNING),
    ("input_tray_missing", "printer_fault", Severity.WARNING),
    ("output_tray_missing", "printer_fault", Severity.WARNING),
    ("marker_supply_missing", "printer_fault", Severity.CRITICAL),
    ("output_near_full", "printer_fault", Severity.WARNING),
    ("output_full", "printer_fault", Severity.CRITICAL),
    ("input_tray_empty", "printer_supply_low", Severity.WARNING),
    ("overdue_prevent_maint", "printer_fault", Severity.WARNING),
)

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

# IANA-PRINTER-MIB PrtAlertGroupTC and PrtAlertCodeTC.
ALERT_GROUPS = {
    1: "other", 3: "hostResourcesMIBStorageTable", 4: "hostResourcesMIBDeviceTable",
    5: "generalPrinter", 6: "cover", 7: "localization", 8: "input", 9: "output", 10: "marker",
    11: "markerSupplies", 12: "markerColorant", 13: "mediaPath", 14: "channel",
    15: "interpreter", 16: "consoleDisplayBuffer", 17: "consoleLights", 18: "alert",
    30: "finDevice", 31: "finSupply", 32: "finSupplyMediaInput", 33: "finAttribute",
}  # fmt: skip
ALERT_CODES = {
    1: "other", 2: "unknown", 3: "coverOpen", 4: "coverClosed", 5: "interlockOpen",
    6: "interlockClosed", 7: "configurationChange", 8: "jam", 9: "subunitMissing",
    10: "subunitLifeAlmostOver", 11: "subunitLifeOver", 12: "subunitAlmostEmpty",
    13: "subunitEmpty", 14: "subunitAlmostFull", 15: "subunitFull", 16: "subunitNearLimit",
    17: "subunitAtLimit", 18: "subunitOpened", 19: "subunitClosed", 20: "subunitTurnedOn",
    21: "subunitTurnedOff", 22: "subunitOffline", 23: "subunitPowerSaver",
    24: "subunitWarmingUp", 25: "subunitAdded", 26: "subunitRemoved",
    27: "subunitResourceAdded", 28: "subunitResourceRemoved", 29: "subunitRecoverableFailure",
    30: "subunitUnrecoverableFailure", 31: "subunitRecoverableStorageError",
    32: "subunitUnrecoverableStorageError", 33: "subunitMotorFailure",
    34: "subunitMemoryExhausted", 35: "subunitUnderTemperature", 36: "subunitOverTemperature",
    37: "subunitTimingFailure", 38: "subunitThermistorFailure", 501: "doorOpen",
    502: "doorClosed", 503: "powerUp", 504: "powerDown", 505: "printerNMSReset",
    506: "printerManualReset", 507: "printerReadyToPrint", 801: "inputMediaTrayMissing",
    802: "inputMediaSizeChange", 803: "inputMediaWeightChange", 804: "inputMediaTypeChange",
    805: "inputMediaColorChange", 806: "inputMediaFormPartsChange", 807: "inputMediaSupplyLow",
    808: "inputMediaSupplyEmpty", 809: "inputMediaChangeRequest", 810: "inputManualInputRequest",
    811: "inputTrayPositionFailure", 812: "inputTrayElevationFailure",
    813: "inputCannotFeedSizeSelected", 901: "outputMediaTrayMissing",
    902: "outputMediaTrayAlmostFull", 903: "outputMediaTrayFull",
    904: "outputMailboxSelectFailure", 1001: "markerFuserUnderTemperature",
    1002: "markerFuserOverTemperature", 1003: "markerFuserTimingFailure",
    1004: "markerFuserThermistorFailure", 1005: "markerAdjustingPrintQuality",
    1101: "markerTonerEmpty", 1102: "markerInkEmpty", 1103: "markerPrintRibbonEmpty",
    1104: "markerTonerAlmostEmpty", 1105: "markerInkAlmostEmpty",
    1106: "markerPrintRibbonAlmostEmpty", 1107: "markerWasteTonerReceptacleAlmostFull",
    1108: "markerWasteInkReceptacleAlmostFull", 1109: "markerWasteTonerReceptacleFull",
    1110: "markerWasteInkReceptacleFull", 1111: "markerOpcLifeAlmostOver",
    1112: "markerOpcLifeOver", 1113: "markerDeveloperAlmostEmpty", 1114: "markerDeveloperEmpty",
    1115: "markerTonerCartridgeMissing", 1301: "mediaPathMediaTrayMissing",
    1302: "mediaPathMediaTrayAlmostFull", 1303: "mediaPathMediaTrayFull",
    1304: "mediaPathCannotDuplexMediaSelected", 1501: "interpreterMemoryIncrease",
    1502: "interpreterMemoryDecrease", 1503: "interpreterCartridgeAdded",
    1504: "interpreterCartridgeDeleted", 1505: "interpreterResourceAdded",
    1506: "interpreterResourceDeleted", 1507: "interpreterResourceUnavailable",
    1509: "interpreterComplexPageEncountered", 1801: "alertRemovalOfBinaryChangeEntry",
}  # fmt: skip
_SUPPLY_ALERT_CODES = frozenset({12, 13, 807, 808, 1101, 1102, 1103, 1104, 1105, 1106, 1113, 1114})
# PrtAlertSeverityLevelTC: other(1), critical(3), warning(4), warningBinaryChangeEvent(5).
# Binary change events are transient notices, not conditions that are still present.
_ACTIVE_SEVERITIES = {1: Severity.WARNING, 3: Severity.CRITICAL, 4: Severity.WARNING}
_ALERT_SEVERITY_NAMES = {1: "other", 3: "critical", 4: "warning", 5: "warningBinaryChangeEvent"}
_BINARY_CHANGE_REMOVAL = 1801


@dataclass(frozen=True, slots=True)
class Level:
    """A decoded level: its state, and the numbers only where they are numbers."""

    state: SupplyStateName
    raw: int | None
    capacity: int | None
    percent: float | None


def decode_error_state(raw: bytes) -> list[str]:
    """Names of the conditions set in an hrPrinterDetectedErrorState value (RFC 2790).

    Bit 0 is the most significant bit of the first octet; an empty string sets no bit, and bits
    beyond the octets sent are clear (agents may send one octet).
    """
    return [
        name
        for bit, (name, _cls, _sev) in enumerate(ERROR_CONDITIONS)
        if bit // 8 < len(raw) and raw[bit // 8] & (0x80 >> (bit % 8))
    ]


def decode_level(
    level: int | None,
    capacity: int | None,
    *,
    low_percent: float,
    vendor_states: dict[int, SupplyStateName],
) -> Level:
    """The state and percent of a supply or tray level (RFC 3805 prtMarkerSuppliesLevel)."""
    known_capacity = capacity if capacity is not None and capacity >= 0 else None
    if level is None:
        return Level("unknown", None, known_capacity, None)
    if level in vendor_states:
        return Level(vendor_states[level], None, known_capacity, None)
    if level == -1:
        return Level("other", None, known_capacity, None)
    if level == -3:
        return Level("some_remaining", None, known_capacity, None)
    if level < 0:  # -2 unknown, and any other negative value a device invents
        return Level("unknown", None, known_capacity, None)
    percent = None
    if known_capacity:
        percent = min(100.0, level * 100.0 / known_capacity)
    if level == 0:
        state: SupplyStateName = "empty"
    elif percent is not None and percent <= low_percent:
        state = "low"
    else:
        state = "ok"
    return Level(state, level, known_capacity, percent)


def clean_description(text: str, cuts: list[str]) -> str:
    """The supply description without the vendor suffixes listed in profiles.yaml."""
    for cut in cuts:
        position = text.find(cut)
        if position > 0:
            text = text[:position]
    return text.strip()


def colour_from_words(text: str, words: dict[str, str]) -> str | None:
    """A colour named in a description ('Cyan Toner' → 'cyan'), or None."""
    lowered = text.lower()
    for word, colour in words.items():
        if word in lowered:
            return colour
    return None


@dataclass(frozen=True, slots=True)
class PrinterFacts:
    """Identifying facts a printer reports about itself."""

    serial: str | None
    model: str | None


def _ints(column: Column, name: Oid, emit: Emitter) -> dict[Oid, int]:
    result: dict[Oid, int] = {}
    for index, value in column.items():
        number = as_int(value)
        if number is None:
            emit.invalid(name, index, "an INTEGER", value)
        else:
            result[index] = number
    return result


def _short_index(index: Oid, multi: bool) -> str:
    # Supply and input rows are indexed (hrDeviceIndex, n); with one printer the n is the name
    # users see on the device, so drop the hrDeviceIndex unless there are several.
    return ".".join(map(str, index)) if multi or len(index) != 2 else str(index[1])


def decode_printer(
    columns: dict[Oid, Column],
    emit: Emitter,
    *,
    vendor: VendorProfile | None,
    defaults: ProfileDefaults,
    low_percent: float,
) -> None:
    """Emit the samples and events of a printer's status, supplies, trays and counters."""
    _decode_status(columns, emit)
    vendor_states = vendor.supply_levels if vendor else {}
    _decode_supplies(columns, emit, defaults, low_percent, vendor_states)
    _decode_inputs(columns, emit, low_percent, vendor_states)
    for index, count in sorted(
        _ints(columns.get(PRT_MARKER_LIFE_COUNT, {}), PRT_MARKER_LIFE_COUNT, emit).items()
    ):
        if count < 0:
            emit.invalid(PRT_MARKER_LIFE_COUNT, index, "a count ≥ 0", count)
            continue
        emit.sample("printer_pages_total", count, {"marker": _short_index(index, False)})
    _decode_alerts(columns, emit)


def printer_indices(columns: dict[Oid, Column]) -> list[Oid]:
    """hrDeviceIndex rows that are printers: typed hrDevicePrinter or present in hrPrinterTable."""
    indices = {
        index
        for index, value in columns.get(HR_DEVICE_TYPE, {}).items()
        if value == HR_DEVICE_PRINTER
    }
    indices.update(columns.get(HR_PRINTER_ERROR_STATE, {}))
    indices.update(columns.get(HR_PRINTER_STATUS, {}))
    return sorted(indices)


def _decode_status(columns: dict[Oid, Column], emit: Emitter) -> None:
    device_status = columns.get(HR_DEVICE_STATUS, {})
    printer_status = columns.get(HR_PRINTER_STATUS, {})
    error_state = columns.get(HR_PRINTER_ERROR_STATE, {})
    for index in printer_indices(columns):
        label = ".".join(map(str, index))
        labels = {"printer": label}
        status = as_int(device_status.get(index))
        if index in device_status:
            if status is None or not 1 <= status <= 5:
                emit.invalid(HR_DEVICE_STATUS, index, "hrDeviceStatus 1..5", device_status[index])
            else:
                emit.sample("printer_status", status, labels)
        activity = as_int(printer_status.get(index))
        if index in printer_status:
            if activity is None or not 1 <= activity <= 5:
                emit.invalid(
                    HR_PRINTER_STATUS, index, "hrPrinterStatus 1..5", printer_status[index]
                )
            else:
                emit.sample("printer_activity", activity, labels)
        if index not in error_state:
            continue
        raw = error_state[index]
        if type(raw) is not bytes:
            emit.invalid(HR_PRINTER_ERROR_STATE, index, "an OCTET STRING of bits", raw)
            continue
        active = set(decode_error_state(raw))
        for name, problem_class, severity in ERROR_CONDITIONS:
            is_set = name in active
            emit.sample("printer_error", 1 if is_set else 0, {"printer": label, "condition": name})
            if is_set:
                emit.event(
                    "printer_error",
                    severity,
                    f"printer {label} reports {name.replace('_', ' ')}",
                    {"printer": label, "condition": name, "problem_class": problem_class},
                )


def _decode_supplies(
    columns: dict[Oid, Column],
    emit: Emitter,
    defaults: ProfileDefaults,
    low_percent: float,
    vendor_states: dict[int, SupplyStateName],
) -> None:
    levels = _ints(columns.get(SUPPLY_LEVEL, {}), SUPPLY_LEVEL, emit)
    capacities = _ints(columns.get(SUPPLY_MAX, {}), SUPPLY_MAX, emit)
    types = _ints(columns.get(SUPPLY_TYPE, {}), SUPPLY_TYPE, emit)
    classes = columns.get(SUPPLY_CLASS, {})
    colorants = columns.get(SUPPLY_COLORANT, {})
    colorant_values = columns.get(COLORANT_VALUE, {})
    descriptions = columns.get(SUPPLY_DESCRIPTION, {})
    rows = sorted(set(levels) | set(capacities) | set(descriptions))
    multi = len({row[:1] for row in rows}) > 1
    for index in rows:
        supply = _short_index(index, multi)
        text = as_text(descriptions.get(index))
        description = clean_description(text, defaults.supply_description_cuts) if text else ""
        description = description or f"supply {supply}"
        type_number = types.get(index)
        type_name = "unknown"
        if type_number is not None:
            known = 0 < type_number < len(SUPPLY_TYPES)
            type_name = SUPPLY_TYPES[type_number] if known else str(type_number)
        colour = _colour(index, colorants, colorant_values, description, defaults)
        labels = {"supply": supply, "description": description, "type": type_name, "colour": colour}
        level = decode_level(
            levels.get(index),
            capacities.get(index),
            low_percent=low_percent,
            vendor_states=vendor_states,
        )
        if level.raw is not None:
            emit.sample("printer_supply_level_raw", level.raw, labels)
        if level.capacity is not None:
            emit.sample("printer_supply_capacity_raw", level.capacity, labels)
        if level.percent is not None:
            emit.sample("printer_supply_level_percent", round(level.percent, 2), labels)
        emit.sample("printer_supply_state", 1, {**labels, "state": level.state})
        if level.state in ("low", "empty"):
            receptacle = as_int(classes.get(index)) == _RECEPTACLE
            what = ("almost full" if level.state == "low" else "full") if receptacle else (
                "low" if level.state == "low" else "empty"
            )  # fmt: skip
            shown = f" ({level.percent:.0f} %)" if level.percent is not None else ""
            emit.event(
                "printer_supply_low",
                Severity.WARNING if level.state == "low" else Severity.CRITICAL,
                f"{description} is {what}{shown}",
                {
                    **labels,
                    "state": level.state,
                    "percent": "" if level.percent is None else f"{level.percent:.0f}",
                    "problem_class": "printer_supply_low",
                },
            )


def _colour(
    index: Oid,
    colorants: Column,
    colorant_values: Column,
    description: str,
    defaults: ProfileDefaults,
) -> str:
    colorant = as_int(colorants.get(index))
    if colorant == 0:  # RFC 3805: 0 = this supply has no colorant (drum, fuser, waste box)
        return "none"
    if colorant is not None and index:
        name = as_text(colorant_values.get((index[0], colorant)), 40)
        if name:
            return name.lower()
    return colour_from_words(description, defaults.colour_words) or "unknown"


def _decode_inputs(
    columns: dict[Oid, Column],
    emit: Emitter,
    low_percent: float,
    vendor_states: dict[int, SupplyStateName],
) -> None:
    levels = _ints(columns.get(PRT_INPUT_LEVEL, {}), PRT_INPUT_LEVEL, emit)
    capacities = _ints(columns.get(PRT_INPUT_MAX, {}), PRT_INPUT_MAX, emit)
    names = columns.get(PRT_INPUT_NAME, {})
    rows = sorted(set(levels) | set(capacities))
    multi = len({row[:1] for row in rows}) > 1
    for index in rows:
        tray = _short_index(index, multi)
        labels = {"input": tray, "description": as_text(names.get(index)) or f"input {tray}"}
        level = decode_level(
            levels.get(index),
            capacities.get(index),
            low_percent=low_percent,
            vendor_states=vendor_states,
        )
        if level.raw is not None:
            emit.sample("printer_input_level_raw", level.raw, labels)
        if level.capacity is not None:
            emit.sample("printer_input_capacity_raw", level.capacity, labels)
        if level.percent is not None:
            emit.sample("printer_input_level_percent", round(level.percent, 2), labels)
        emit.sample("printer_input_state", 1, {**labels, "state": level.state})


def _decode_alerts(columns: dict[Oid, Column], emit: Emitter) -> None:
    severities = columns.get(ALERT_SEVERITY, {})
    groups = columns.get(ALERT_GROUP, {})
    codes = columns.get(ALERT_CODE, {})
    descriptions = columns.get(ALERT_DESCRIPTION, {})
    active = 0
    for index in sorted(set(severities) | set(codes)):
        severity_number = as_int(severities.get(index))
        code_number = as_int(codes.get(index))
        severity = _ACTIVE_SEVERITIES.get(severity_number or 0)
        if severity is None or code_number == _BINARY_CHANGE_REMOVAL:
            continue
        active += 1
        code = ALERT_CODES.get(code_number or 0, str(code_number))
        group_number = as_int(groups.get(index))
        group = ALERT_GROUPS.get(group_number or 0, str(group_number))
        text = as_text(descriptions.get(index)) or code
        emit.event(
            "printer_alert",
            severity,
            f"printer alert: {text} ({group}/{code})",
            {
                "severity": _ALERT_SEVERITY_NAMES.get(severity_number or 0, "other"),
                "group": group,
                "code": code,
                "description": text,
                "problem_class": (
                    "printer_supply_low" if code_number in _SUPPLY_ALERT_CODES else "printer_fault"
                ),
            },
        )
    emit.sample("printer_alerts_active", active)


def printer_facts(columns: dict[Oid, Column]) -> PrinterFacts:
    """Serial number (prtGeneralSerialNumber) and model (hrDeviceDescr of the printer)."""
    serial = next(
        (t for v in columns.get(PRT_GENERAL_SERIAL, {}).values() if (t := as_text(v))), None
    )
    descriptions = columns.get(HR_DEVICE_DESCR, {})
    model = next((t for i in printer_indices(columns) if (t := as_text(descriptions.get(i)))), None)
    return PrinterFacts(serial, model)
