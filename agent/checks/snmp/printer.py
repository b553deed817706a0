"""Printers and MFPs: Printer-MIB (RFC 3805) and HOST-RESOURCES-MIB (RFC 2790) decoding.

Device and printer status, the detected-error bit string, the alert table and the page
counter become samples and events here; supplies and paper trays are decoded by
:mod:`agent.checks.snmp.supplies`, whose level quirks may need the error bits read here.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.checks.snmp.emit import Emitter
from agent.checks.snmp.error_state import ERROR_CONDITIONS, decode_error_state
from agent.checks.snmp.profiles import ProfileDefaults, VendorProfile
from agent.checks.snmp.supplies import (
    SUPPLY_COLUMNS,
    apply_quirks,
    decode_inputs,
    emit_supplies,
    read_supplies,
    short_index,
)
from agent.checks.snmp.text import device_label
from agent.checks.snmp.values import Oid, as_int, as_text
from agent.checks.snmp.walk import Column
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
PRT_MARKER_LIFE_COUNT = (1, 3, 6, 1, 2, 1, 43, 10, 2, 1, 4)
_PRT_ALERT = (1, 3, 6, 1, 2, 1, 43, 18, 1, 1)
ALERT_SEVERITY = (*_PRT_ALERT, 2)
ALERT_GROUP = (*_PRT_ALERT, 4)
ALERT_CODE = (*_PRT_ALERT, 7)
ALERT_DESCRIPTION = (*_PRT_ALERT, 8)

PRINTER_COLUMNS: tuple[Oid, ...] = (
    HR_DEVICE_TYPE, HR_DEVICE_STATUS, HR_PRINTER_STATUS, HR_PRINTER_ERROR_STATE,
    *SUPPLY_COLUMNS, PRT_MARKER_LIFE_COUNT,
    ALERT_SEVERITY, ALERT_GROUP, ALERT_CODE, ALERT_DESCRIPTION,
)  # fmt: skip
"""Columns walked on every poll of a printer."""

PRINTER_FACT_COLUMNS: tuple[Oid, ...] = (PRT_GENERAL_SERIAL, HR_DEVICE_DESCR)
"""Columns walked when the printer's facts (serial, model) are refreshed."""

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
    supplies = read_supplies(
        columns, emit, vendor=vendor, defaults=defaults, low_percent=low_percent
    )
    # The vendor's own quirks first, then the ones every printer is judged by.
    quirks = [*(vendor.level_quirks if vendor else []), *defaults.level_quirks]
    emit_supplies(apply_quirks(supplies, quirks, error_states(columns)), emit)
    decode_inputs(columns, emit, vendor=vendor, low_percent=low_percent)
    for index, count in sorted(
        _ints(columns.get(PRT_MARKER_LIFE_COUNT, {}), PRT_MARKER_LIFE_COUNT, emit).items()
    ):
        if count < 0:
            emit.invalid(PRT_MARKER_LIFE_COUNT, index, "a count ≥ 0", count)
            continue
        emit.sample("printer_pages_total", count, {"marker": short_index(index, False)})
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


def error_states(columns: dict[Oid, Column]) -> dict[int, frozenset[str]]:
    """hrDeviceIndex → conditions set in its hrPrinterDetectedErrorState (well-typed rows)."""
    return {
        index[0]: frozenset(decode_error_state(raw))
        for index, raw in columns.get(HR_PRINTER_ERROR_STATE, {}).items()
        if len(index) == 1 and type(raw) is bytes
    }


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
        raw_text = descriptions.get(index)
        text = (device_label(raw_text) if isinstance(raw_text, bytes) else "") or code
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
