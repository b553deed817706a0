"""Interfaces (IF-MIB, RFC 2863): status, speed, counters, and rates across polls.

Rates come from two polls' counters and the injected clock. A 32-bit counter that went down
wrapped at 2^32 (RFC 2863 §3.1.6) unless the implied rate is impossible for the link; a 64-bit
counter that went down was reset. After a reboot (sysUpTime went down) there is no rate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.checks.snmp.emit import Emitter
from agent.checks.snmp.values import Oid, Value, as_int, as_text
from agent.checks.snmp.walk import Column
from agent.wire import Severity

_IF = (1, 3, 6, 1, 2, 1, 2, 2, 1)  # ifEntry
IF_DESCR = (*_IF, 2)
IF_TYPE = (*_IF, 3)
IF_SPEED = (*_IF, 5)
IF_ADMIN_STATUS = (*_IF, 7)
IF_OPER_STATUS = (*_IF, 8)
IF_IN_OCTETS = (*_IF, 10)
IF_IN_UCAST = (*_IF, 11)
IF_IN_DISCARDS = (*_IF, 13)
IF_IN_ERRORS = (*_IF, 14)
IF_OUT_OCTETS = (*_IF, 16)
IF_OUT_UCAST = (*_IF, 17)
IF_OUT_DISCARDS = (*_IF, 19)
IF_OUT_ERRORS = (*_IF, 20)
_IFX = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)  # ifXEntry
IFX_NAME = (*_IFX, 1)
IFX_HC_IN_OCTETS = (*_IFX, 6)
IFX_HC_IN_UCAST = (*_IFX, 7)
IFX_HC_OUT_OCTETS = (*_IFX, 10)
IFX_HC_OUT_UCAST = (*_IFX, 11)
IFX_HIGH_SPEED = (*_IFX, 15)
IFX_ALIAS = (*_IFX, 18)

INTERFACE_COLUMNS: tuple[Oid, ...] = (
    IF_DESCR, IF_TYPE, IF_SPEED, IF_ADMIN_STATUS, IF_OPER_STATUS, IF_IN_OCTETS, IF_IN_UCAST,
    IF_IN_DISCARDS, IF_IN_ERRORS, IF_OUT_OCTETS, IF_OUT_UCAST, IF_OUT_DISCARDS, IF_OUT_ERRORS,
    IFX_NAME, IFX_HC_IN_OCTETS, IFX_HC_IN_UCAST, IFX_HC_OUT_OCTETS, IFX_HC_OUT_UCAST,
    IFX_HIGH_SPEED, IFX_ALIAS,
)  # fmt: skip
"""Columns walked on every poll of any device."""

WRAP_32 = 2**32
MAX_32 = WRAP_32 - 1
OPER_UP = 1

# IANAifType-MIB names for the types seen on commune networks; others show as their number.
IF_TYPES = {
    1: "other", 6: "ethernetCsmacd", 7: "iso88023Csmacd", 18: "ds1", 22: "propPointToPointSerial",
    23: "ppp", 24: "softwareLoopback", 28: "slip", 32: "frameRelay", 37: "atm", 49: "aal5",
    53: "propVirtual", 62: "fastEther", 69: "fastEtherFX", 71: "ieee80211", 94: "adsl",
    97: "vdsl", 108: "pppMultilinkBundle", 117: "gigabitEthernet", 131: "tunnel",
    135: "l2vlan", 136: "l3ipvlan", 142: "ipForward", 150: "mplsTunnel", 161: "ieee8023adLag",
    166: "mpls", 209: "bridge", 237: "ieee80216WMAN", 243: "wwanPP", 244: "wwanPP2",
    251: "vdsl2", 259: "ethernetCsmacd",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Counter:
    """Which column pair gives one counter: 64-bit (ifXTable) preferred, 32-bit otherwise."""

    name: str
    high: Oid | None
    low: Oid
    rate: str | None


_COUNTERS = (
    _Counter("if_in_octets_total", IFX_HC_IN_OCTETS, IF_IN_OCTETS, "if_in_bits_per_second"),
    _Counter("if_out_octets_total", IFX_HC_OUT_OCTETS, IF_OUT_OCTETS, "if_out_bits_per_second"),
    _Counter("if_in_unicast_packets_total", IFX_HC_IN_UCAST, IF_IN_UCAST, None),
    _Counter("if_out_unicast_packets_total", IFX_HC_OUT_UCAST, IF_OUT_UCAST, None),
    _Counter("if_in_errors_total", None, IF_IN_ERRORS, None),
    _Counter("if_out_errors_total", None, IF_OUT_ERRORS, None),
    _Counter("if_in_discards_total", None, IF_IN_DISCARDS, None),
    _Counter("if_out_discards_total", None, IF_OUT_DISCARDS, None),
)


def counter_delta(previous: int, current: int, bits: int) -> int | None:
    """How much a counter grew between two readings, or None if it was reset.

    A Counter32 that went down wrapped through 2^32 (RFC 2863 §3.1.6); a Counter64 never wraps in
    practice (centuries at 100 Gbit/s), so going down means the counter was reset.
    """
    if current >= previous:
        return current - previous
    if bits == 32:
        return current + WRAP_32 - previous
    return None


def interface_speed(speed: int | None, high_speed: int | None) -> int | None:
    """Nominal bit/s: ifHighSpeed (Mbit/s) × 10^6 when present, else ifSpeed.

    ifSpeed saturates at 2^32-1 above 4.29 Gbit/s (RFC 2863 §3.1.3), so ifHighSpeed is the
    reliable one; below 1 Mbit/s ifHighSpeed rounds to 0 and ifSpeed is more precise.
    """
    if high_speed is not None and high_speed >= 0:
        if high_speed == 0 and speed is not None and 0 < speed < MAX_32:
            return speed
        return high_speed * 1_000_000
    if speed is not None and speed >= 0:
        return speed
    return None


@dataclass(slots=True)
class InterfaceTracker:
    """What one device's interfaces looked like at the previous poll: counters and up/down."""

    counters: dict[tuple[Oid, str], tuple[int, int]] = field(default_factory=dict)
    oper_up: dict[Oid, bool] = field(default_factory=dict)
    polled_at: float | None = None

    def forget_counters(self) -> None:
        """Drop counter baselines (after a reboot the device restarted them from 0)."""
        self.counters.clear()

    def decode(
        self,
        columns: dict[Oid, Column],
        emit: Emitter,
        *,
        now: float,
        rebooted: bool,
    ) -> None:
        """Emit interface samples and events; remember counters for the next poll's rates."""
        if rebooted:
            self.forget_counters()
        elapsed = None if self.polled_at is None else now - self.polled_at
        get = columns.get
        descr, names, aliases = get(IF_DESCR, {}), get(IFX_NAME, {}), get(IFX_ALIAS, {})
        types, admin, oper = get(IF_TYPE, {}), get(IF_ADMIN_STATUS, {}), get(IF_OPER_STATUS, {})
        speeds, high_speeds = get(IF_SPEED, {}), get(IFX_HIGH_SPEED, {})
        rows = set(descr) | set(oper) | set(names) | set(admin)
        seen: set[Oid] = set()
        counters: dict[tuple[Oid, str], tuple[int, int]] = {}
        for index in sorted(rows):
            if len(index) != 1:
                emit.invalid(IF_OPER_STATUS, index, "an ifIndex row", None)
                continue
            seen.add(index)
            if_index = str(index[0])
            name = as_text(names.get(index)) or as_text(descr.get(index)) or f"if{if_index}"
            labels = {"if_index": if_index, "interface": name}
            type_number = as_int(types.get(index))
            emit.sample(
                "if_info",
                1,
                {
                    **labels,
                    "alias": as_text(aliases.get(index)) or "",
                    "type": ""
                    if type_number is None
                    else IF_TYPES.get(type_number, str(type_number)),
                },
            )
            oper_status = _status(oper, IF_OPER_STATUS, index, emit)
            admin_status = _status(admin, IF_ADMIN_STATUS, index, emit)
            if oper_status is not None:
                emit.sample("if_oper_status", oper_status, labels)
                emit.sample("if_oper_up", 1 if oper_status == OPER_UP else 0, labels)
            if admin_status is not None:
                emit.sample("if_admin_status", admin_status, labels)
                emit.sample("if_admin_up", 1 if admin_status == OPER_UP else 0, labels)
            speed = interface_speed(
                _number(speeds, IF_SPEED, index, emit),
                _number(high_speeds, IFX_HIGH_SPEED, index, emit),
            )
            if speed is not None:
                emit.sample("if_speed_bits_per_second", speed, labels)
            is_up = oper_status == OPER_UP
            self._transition(index, labels, aliases, is_up, admin_status, oper_status, emit)
            for counter in _COUNTERS:
                self._counter(
                    counter, columns, index, labels, is_up, speed, elapsed, counters, emit
                )
        self.counters = counters
        self.oper_up = {i: up for i, up in self.oper_up.items() if i in seen}
        self.polled_at = now

    def _transition(
        self,
        index: Oid,
        labels: dict[str, str],
        aliases: Column,
        is_up: bool,
        admin_status: int | None,
        oper_status: int | None,
        emit: Emitter,
    ) -> None:
        was_up = self.oper_up.get(index)
        if oper_status is not None:
            self.oper_up[index] = is_up
        if was_up is None or oper_status is None or was_up == is_up:
            return
        attrs = {**labels, "alias": as_text(aliases.get(index)) or ""}
        shown = labels["interface"] + (f" ({attrs['alias']})" if attrs["alias"] else "")
        if is_up:
            emit.event("interface_up", Severity.INFO, f"interface {shown} is up again", attrs)
        elif admin_status == OPER_UP:
            # Only an enabled port going down is news; an admin shutting a port is not.
            emit.event(
                "interface_down",
                Severity.WARNING,
                f"interface {shown} went down",
                {**attrs, "oper_status": str(oper_status)},
            )

    def _counter(
        self,
        counter: _Counter,
        columns: dict[Oid, Column],
        index: Oid,
        labels: dict[str, str],
        is_up: bool,
        speed: int | None,
        elapsed: float | None,
        counters: dict[tuple[Oid, str], tuple[int, int]],
        emit: Emitter,
    ) -> None:
        value: int | None = None
        bits = 64
        if counter.high is not None:
            value = _number(columns.get(counter.high, {}), counter.high, index, emit)
        if value is None:
            bits = 32
            value = _number(columns.get(counter.low, {}), counter.low, index, emit)
            if value is not None and value > MAX_32:
                emit.invalid(counter.low, index, "a Counter32", value)
                value = None
        if value is None:
            return
        key = (index, counter.name)
        counters[key] = (value, bits)
        # Counters of a port that is down do not move; leaving them out keeps a 48-port switch
        # well under the per-device sample limit of a report.
        if not is_up:
            return
        emit.sample(counter.name, value, labels)
        previous = self.counters.get(key)
        if counter.rate is None or previous is None or not elapsed or elapsed <= 0:
            return
        old_value, old_bits = previous
        if old_bits != bits:
            return
        delta = counter_delta(old_value, value, bits)
        if delta is None:
            return
        rate = delta * 8 / elapsed
        if bits == 32 and value < old_value and speed and rate > speed * 1.1:
            # A "wrap" faster than the link can carry was really a reset of the counter.
            return
        emit.sample(counter.rate, round(rate, 3), labels)


def _number(column: Column, name: Oid, index: Oid, emit: Emitter) -> int | None:
    value: Value | None = column.get(index)
    if value is None:
        return None
    number = as_int(value)
    if number is None or number < 0:
        emit.invalid(name, index, "a number ≥ 0", value)
        return None
    return number


def _status(column: Column, name: Oid, index: Oid, emit: Emitter) -> int | None:
    value = column.get(index)
    if value is None:
        return None
    number = as_int(value)
    if number is None:
        emit.invalid(name, index, "an INTEGER status", value)
    # Out-of-range numbers are kept as reported: DrayTek routers answer 0 for PVC channels, and
    # the raw value is more useful to an operator than a guess.
    return number
