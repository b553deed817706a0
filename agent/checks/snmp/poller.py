"""One device's poll: system group, classification, one multi-column walk, decoding, state.

A :class:`DevicePoller` lives as long as the check and remembers what it needs between polls:
the previous sysUpTime (reboot detection), interface counters (rates), up/down states
(transitions), the kind probed for an unprofiled vendor (:mod:`agent.checks.snmp.kind`) and the
slowly changing facts (serial, model), which are re-read only every ``facts_refresh_seconds``, each
from the first source that has it (:func:`identify`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from agent.checks.snmp.client import SnmpClient
from agent.checks.snmp.config import SnmpTargetConfig
from agent.checks.snmp.emit import Emitter
from agent.checks.snmp.entity import ENTITY_COLUMNS, find_chassis
from agent.checks.snmp.errors import SnmpDecodeError, SnmpError, SnmpTimeout, first_problems
from agent.checks.snmp.interfaces import INTERFACE_COLUMNS, InterfaceTracker
from agent.checks.snmp.kind import probe_kind
from agent.checks.snmp.printer import (
    PRINTER_COLUMNS,
    PRINTER_FACT_COLUMNS,
    decode_printer,
    printer_facts,
)
from agent.checks.snmp.profiles import (
    Classification,
    ProfileKind,
    ProfileSet,
    TextSource,
    VendorProfile,
)
from agent.checks.snmp.resources import decode_resources, resource_columns, resource_scalars
from agent.checks.snmp.values import ObjectIdValue, Oid, Value, as_int, as_oid, as_text, format_oid
from agent.checks.snmp.walk import Column, WalkLimits, WalkStats, get_values, walk_columns
from agent.clock import Clock
from agent.wire import (
    MAX_EVENTS_PER_DEVICE,
    MAX_SAMPLES_PER_DEVICE,
    DeviceKind,
    DeviceReport,
    Event,
    Sample,
    Severity,
)

log = logging.getLogger(__name__)

SYS_DESCR = (1, 3, 6, 1, 2, 1, 1, 1, 0)
SYS_OBJECT_ID = (1, 3, 6, 1, 2, 1, 1, 2, 0)
SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
SYS_NAME = (1, 3, 6, 1, 2, 1, 1, 5, 0)
SYS_LOCATION = (1, 3, 6, 1, 2, 1, 1, 6, 0)
SYSTEM_OIDS = (SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_NAME, SYS_LOCATION)
TICKS_WRAP = 2**32  # sysUpTime is TimeTicks, hundredths of a second (RFC 2578 §7.1.8)
# Meta samples (snmp_up, duration, requests, values, invalid) are never truncated away.
_META_SAMPLES = 5

KINDS: dict[str, DeviceKind] = {
    "printer": DeviceKind.PRINTER,
    "mfp": DeviceKind.MFP,
    "router": DeviceKind.ROUTER,
    "switch": DeviceKind.SWITCH,
    "firewall": DeviceKind.FIREWALL,
    "access_point": DeviceKind.ACCESS_POINT,
    "other": DeviceKind.OTHER,
}


@dataclass(frozen=True, slots=True)
class PollOptions:
    """Check-wide settings a device poll needs."""

    low_supply_percent: float = 10.0
    facts_refresh_seconds: float = 6 * 3_600
    max_rows_per_column: int = 10_000
    max_poll_seconds: float = 30.0


def detect_reboot(
    previous_ticks: int | None,
    previous_at: float | None,
    ticks: int | None,
    now: float,
) -> bool:
    """True if sysUpTime went down between two polls for another reason than its 497-day wrap."""
    if previous_ticks is None or ticks is None or ticks >= previous_ticks:
        return False
    elapsed = 0.0 if previous_at is None else now - previous_at
    return previous_ticks + elapsed * 100 < TICKS_WRAP


class DevicePoller:
    """Polls one target and keeps what the next poll needs."""

    def __init__(
        self,
        target: SnmpTargetConfig,
        *,
        profiles: ProfileSet,
        options: PollOptions,
        clock: Clock,
    ) -> None:
        self.target = target
        self._profiles = profiles
        self._options = options
        self._clock = clock
        self._limits = WalkLimits(
            max_repetitions=target.max_repetitions,
            max_varbinds=target.max_varbinds,
            max_rows=options.max_rows_per_column,
            bulk=target.uses_bulk,
        )
        self._interfaces = InterfaceTracker()
        self._uptime_ticks: int | None = None
        self._uptime_at: float | None = None
        self._kind: ProfileKind | None = None
        self._probed_kind: ProfileKind | None = None
        self._facts: dict[str, str] = {}
        self._facts_at: float | None = None

    @property
    def device_id(self) -> str:
        """The id this device reports under."""
        return self.target.effective_device_id

    async def poll(self, client: SnmpClient) -> DeviceReport:
        """Poll once; never raises for a device problem (it becomes samples and an event)."""
        started = self._clock.monotonic()
        stats = WalkStats()
        try:
            async with asyncio.timeout(self._options.max_poll_seconds):
                emit = await self._poll(client, stats)
        except SnmpError as exc:
            return self._failed(exc, started, stats)
        except TimeoutError:
            overrun = SnmpTimeout(
                f"{self.target.address}:{self.target.port}", self._options.max_poll_seconds, 0
            )
            return self._failed(overrun, started, stats)
        except Exception as exc:  # a decoder bug must not hide the other targets
            log.exception("snmp poll crashed", extra={"device_id": self.device_id})
            return self._failed(exc, started, stats)
        return self._report(emit, started, stats)

    async def _poll(self, client: SnmpClient, stats: WalkStats) -> Emitter:
        target = self.target
        system = await get_values(client, target, SYSTEM_OIDS, stats)
        now = self._clock.monotonic()
        object_id = _system_object_id(system, target)
        ticks = _system_ticks(system, target)
        descr = as_text(system.get(SYS_DESCR), 2_000) or ""
        found = self._profiles.classify(object_id, descr)
        kind = await self._decide_kind(client, found, stats)
        vendor = found.vendor
        emit = Emitter()

        facts_due = self._facts_at is None or (
            now - self._facts_at >= self._options.facts_refresh_seconds
        )
        roots: list[Oid] = [*INTERFACE_COLUMNS, *resource_columns(vendor)]
        is_printer = kind in ("printer", "mfp")
        if is_printer:
            roots.extend(PRINTER_COLUMNS)
        if facts_due:
            roots.extend(PRINTER_FACT_COLUMNS if is_printer else ENTITY_COLUMNS)
        scalar_oids = resource_scalars(vendor)
        if facts_due and vendor:
            scalar_oids += [source.oid for source in (*vendor.serial, *vendor.model)]
        scalars = await get_values(client, target, scalar_oids, stats) if scalar_oids else {}
        columns = await walk_columns(
            client, target, list(dict.fromkeys(roots)), self._limits, stats
        )

        rebooted = detect_reboot(self._uptime_ticks, self._uptime_at, ticks, now)
        if ticks is not None:
            emit.sample("uptime_seconds", ticks / 100)
            if rebooted:
                emit.event(
                    "device_rebooted",
                    Severity.WARNING,
                    f"device restarted: uptime {ticks / 100:.0f} s, "
                    f"was {(self._uptime_ticks or 0) / 100:.0f} s at the previous poll",
                    {
                        "uptime_seconds": f"{ticks / 100:.0f}",
                        "previous_uptime_seconds": f"{(self._uptime_ticks or 0) / 100:.0f}",
                    },
                )
            self._uptime_ticks, self._uptime_at = ticks, now
        self._interfaces.decode(columns, emit, now=now, rebooted=rebooted)
        decode_resources(columns, scalars, emit, vendor=vendor, defaults=self._profiles.defaults)
        if is_printer:
            decode_printer(
                columns,
                emit,
                vendor=vendor,
                defaults=self._profiles.defaults,
                low_percent=self._options.low_supply_percent,
            )
        self._kind = kind
        self._update_facts(system, found, is_printer, columns, scalars, facts_due, now)
        return emit

    async def _decide_kind(
        self, client: SnmpClient, found: Classification, stats: WalkStats
    ) -> ProfileKind:
        hint = self.target.kind
        if hint != "auto":
            return hint
        if found.kind is not None:
            return found.kind
        if self._probed_kind is None:
            # A vendor we have no profile for: judge by the MIBs it implements, once.
            self._probed_kind = await probe_kind(client, self.target, stats)
        return self._probed_kind

    def _update_facts(
        self,
        system: dict[Oid, Value],
        found: Classification,
        is_printer: bool,
        columns: dict[Oid, Column],
        scalars: dict[Oid, Value],
        facts_due: bool,
        now: float,
    ) -> None:
        facts = dict(self._facts)
        for key, oid in (("sys_name", SYS_NAME), ("sys_location", SYS_LOCATION)):
            text = as_text(system.get(oid))
            if text:
                facts[key] = text
        descr = as_text(system.get(SYS_DESCR), 256)
        if descr:
            facts["sys_descr"] = descr
        object_id = as_oid(system.get(SYS_OBJECT_ID))
        if object_id is not None:
            facts["sys_object_id"] = format_oid(object_id)
        if found.vendor is not None:
            facts["vendor"] = found.vendor.vendor
        if facts_due:
            full_descr = as_text(system.get(SYS_DESCR), 2_000) or ""
            serial, model = identify(found.vendor, is_printer, columns, scalars, full_descr)
            for key, value in (("serial", serial), ("model", model)):
                if value:
                    facts[key] = value
                else:
                    facts.pop(key, None)
            self._facts_at = now
        self._facts = facts

    def _report(self, emit: Emitter, started: float, stats: WalkStats) -> DeviceReport:
        meta = [
            Sample(name="snmp_up", value=1),
            Sample(name="snmp_poll_duration_seconds", value=self._elapsed(started)),
            Sample(name="snmp_poll_requests", value=stats.requests),
            Sample(name="snmp_poll_values", value=stats.values),
            Sample(name="snmp_invalid_values", value=len(emit.problems)),
        ]
        events = emit.events
        if emit.problems:
            events.append(
                Event(
                    type="snmp_data_invalid",
                    severity=Severity.WARNING,
                    message=f"skipped {len(emit.problems)} invalid values: "
                    + first_problems(emit.problems),
                    attrs={"count": str(len(emit.problems))},
                )
            )
        samples = emit.samples
        room = MAX_SAMPLES_PER_DEVICE - _META_SAMPLES
        if len(samples) > room:
            dropped = len(samples) - room
            samples = samples[:room]
            events.append(
                Event(
                    type="snmp_samples_truncated",
                    severity=Severity.WARNING,
                    message=f"{dropped} samples over the report limit of "
                    f"{MAX_SAMPLES_PER_DEVICE} were dropped",
                    attrs={"dropped": str(dropped)},
                )
            )
        if len(events) > MAX_EVENTS_PER_DEVICE:
            events = events[: MAX_EVENTS_PER_DEVICE - 1] + events[-1:]
        return DeviceReport(
            device_id=self.device_id,
            kind=self._device_kind(),
            samples=meta + samples,
            events=events,
            facts=self._facts,
        )

    def _failed(self, error: Exception, started: float, stats: WalkStats) -> DeviceReport:
        address = f"{self.target.address}:{self.target.port}"
        reason = error.reason if isinstance(error, SnmpError) else "internal"
        unreachable = isinstance(error, SnmpTimeout) and stats.values == 0
        message = str(error) if isinstance(error, SnmpError) else f"internal error: {error!r}"
        event = Event(
            type="snmp_target_unreachable" if unreachable else "snmp_poll_failed",
            severity=Severity.CRITICAL,
            message=message[:2_000],
            attrs={
                "error": reason,
                "address": address,
                "problem_class": "device_down" if unreachable else "device_health",
            },
        )
        log.info(
            "snmp poll failed",
            extra={"device_id": self.device_id, "address": address, "error": reason},
        )
        return DeviceReport(
            device_id=self.device_id,
            kind=self._device_kind(),
            samples=[
                Sample(name="snmp_up", value=0),
                Sample(name="snmp_poll_duration_seconds", value=self._elapsed(started)),
                Sample(name="snmp_poll_requests", value=stats.requests),
                Sample(name="snmp_poll_values", value=stats.values),
            ],
            events=[event],
            facts=self._facts,
        )

    def _elapsed(self, started: float) -> float:
        return max(0.0, round(self._clock.monotonic() - started, 6))

    def _device_kind(self) -> DeviceKind:
        kind = self._kind or (self.target.kind if self.target.kind != "auto" else "other")
        return KINDS[kind]


def _system_object_id(system: dict[Oid, Value], target: SnmpTargetConfig) -> ObjectIdValue | None:
    """sysObjectID, or None if absent; a non-OID there means the agent answers garbage."""
    value = system.get(SYS_OBJECT_ID)
    if value is None:
        return None
    object_id = as_oid(value)
    if object_id is None:
        raise SnmpDecodeError(
            f"{target.address}:{target.port}", "sysObjectID.0", "an OBJECT IDENTIFIER", value
        )
    return object_id


def _system_ticks(system: dict[Oid, Value], target: SnmpTargetConfig) -> int | None:
    """sysUpTime, or None if absent (Konica MFPs omit it); a non-number means garbage."""
    value = system.get(SYS_UPTIME)
    if value is None:
        return None
    ticks = as_int(value)
    if ticks is None or ticks < 0:
        raise SnmpDecodeError(f"{target.address}:{target.port}", "sysUpTime.0", "TimeTicks", value)
    return ticks


def _first_text(values: dict[Oid, Value], sources: list[TextSource]) -> str | None:
    for source in sources:
        text = as_text(values.get(source.oid))
        found = source.extract(text) if text else None
        if found:
            return found
    return None


def identify(
    vendor: VendorProfile | None,
    is_printer: bool,
    columns: dict[Oid, Column],
    scalars: dict[Oid, Value],
    sys_descr: str,
) -> tuple[str | None, str | None]:
    """(serial, model) of a device, each from the first source that has it.

    Serial: the standard MIB (prtGeneralSerialNumber, or the ENTITY-MIB chassis row), then the
    vendor's own OIDs, then sysDescr. Model: for network devices the chassis row, the vendor's
    OIDs, then sysDescr; for printers the vendor's OIDs come before hrDeviceDescr, which many
    printers fill with a generic driver name ("Generic 28C-1").
    """
    vendor_serial = _first_text(scalars, vendor.serial) if vendor else None
    vendor_model = _first_text(scalars, vendor.model) if vendor else None
    descr_serial = vendor.serial_in(sys_descr) if vendor else None
    descr_model = vendor.model_in(sys_descr) if vendor else None
    if is_printer:
        found = printer_facts(columns)
        return (
            found.serial or vendor_serial or descr_serial,
            vendor_model or found.model or descr_model,
        )
    chassis = find_chassis(columns)
    model = (chassis.model if chassis else None) or vendor_model or descr_model
    if model and vendor:
        model = vendor.model_name(model)
    return (chassis.serial if chassis else None) or vendor_serial or descr_serial, model
