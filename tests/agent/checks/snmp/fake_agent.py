"""An in-memory SNMP agent behind the SnmpClient protocol, fed from snmpsim recordings.

It answers GET, GETNEXT and GETBULK with the real lexicographic semantics (RFC 3416 §4.2), so
the walker and decoders run exactly as against a device; hooks let a test truncate answers,
break OID ordering, replace values with garbage or make a device stop answering.
"""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from agent.checks.snmp.config import SnmpTargetConfig
from agent.checks.snmp.errors import SnmpErrorStatus, SnmpTimeout
from agent.checks.snmp.values import Missing, ObjectIdValue, Oid, Value, VarBind, parse_oid

# snmprec type tags (snmpsim's format: "oid|tag|value"); "x" suffix = hex-encoded value.
_INTEGER_TAGS = {"2", "65", "66", "67", "70"}


def parse_snmprec_value(tag: str, text: str) -> Value:
    """One snmprec value as a plain value."""
    if tag.endswith("x"):
        raw = bytes.fromhex(text)
        return raw if tag[:-1] in {"4", "64", "68"} else int.from_bytes(raw, "big")
    if tag in _INTEGER_TAGS:
        return int(text)
    if tag == "6":
        return ObjectIdValue(parse_oid(text))
    if tag == "64":
        return bytes(int(part) for part in text.split("."))
    return text.encode("utf-8")


def load_snmprec(path: Path) -> dict[Oid, Value]:
    """The OID → value map of a recording.

    A value that does not parse as its type (okilan_9450g's anonymiser wrote the Counter32
    "6git3159") is left out, as snmpsim cannot serve it either.
    """
    values: dict[Oid, Value] = {}
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line or line.startswith("#"):
            continue
        oid, tag, text = line.split("|", 2)
        try:
            values[parse_oid(oid)] = parse_snmprec_value(tag, text)
        except ValueError:
            continue
    return values


@dataclass
class FakeDevice:
    """One simulated device: its MIB and its misbehaviours."""

    mib: dict[Oid, Value]
    max_varbinds: int = 64
    silent: bool = False
    answer_limit: int | None = None  # stop answering after this many requests
    mangle: Callable[[list[VarBind]], list[VarBind]] | None = None
    hang: asyncio.Event | None = None  # GETBULK waits for this event (never set = hangs)
    requests: int = 0
    _keys: list[Oid] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.reindex()

    def reindex(self) -> None:
        """Call after changing ``mib``."""
        self._keys = sorted(self.mib)

    def next_of(self, oid: Oid) -> VarBind:
        """The first object after ``oid`` (GETNEXT semantics), or endOfMibView."""
        position = bisect.bisect_right(self._keys, oid)
        if position >= len(self._keys):
            return oid, Missing.END_OF_MIB_VIEW
        key = self._keys[position]
        return key, self.mib[key]


class FakeAgent:
    """SnmpClient over FakeDevices keyed by (address, port, community or v3 user)."""

    def __init__(self) -> None:
        self.devices: dict[tuple[str, int, str], FakeDevice] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        self.closed = False

    def add(
        self, community: str, device: FakeDevice, *, address: str = "127.0.0.1", port: int = 161
    ) -> FakeDevice:
        """Serve ``device`` for ``community`` at ``address:port``."""
        self.devices[(address, port, community)] = device
        return device

    def _device(self, target: SnmpTargetConfig) -> FakeDevice:
        credential = target.v3.user if target.v3 else target.community.get_secret_value()
        device = self.devices.get((target.address, target.port, credential))
        where = f"{target.address}:{target.port}"
        if device is None or device.silent:
            raise SnmpTimeout(where, target.timeout, target.retries)
        device.requests += 1
        if device.answer_limit is not None and device.requests > device.answer_limit:
            raise SnmpTimeout(where, target.timeout, target.retries)
        return device

    def _finish(self, device: FakeDevice, varbinds: list[VarBind]) -> list[VarBind]:
        varbinds = varbinds[: device.max_varbinds]
        return device.mangle(varbinds) if device.mangle else varbinds

    async def get(self, target: SnmpTargetConfig, oids: Sequence[Oid]) -> list[VarBind]:
        """GET."""
        device = self._device(target)
        if target.version == "1":
            for position, oid in enumerate(oids, 1):
                if oid not in device.mib:  # SNMPv1 fails the whole PDU (RFC 1157 §4.1.2)
                    raise SnmpErrorStatus(f"{target.address}", "noSuchName", position, None)
        return self._finish(
            device, [(oid, device.mib.get(oid, Missing.NO_SUCH_INSTANCE)) for oid in oids]
        )

    async def get_next(self, target: SnmpTargetConfig, oids: Sequence[Oid]) -> list[VarBind]:
        """GETNEXT."""
        device = self._device(target)
        if target.version == "1":
            for position, oid in enumerate(oids, 1):
                if device.next_of(oid)[1] is Missing.END_OF_MIB_VIEW:
                    raise SnmpErrorStatus(f"{target.address}", "noSuchName", position, None)
        return self._finish(device, [device.next_of(oid) for oid in oids])

    async def get_bulk(
        self, target: SnmpTargetConfig, oids: Sequence[Oid], max_repetitions: int
    ) -> list[VarBind]:
        """GETBULK with non-repeaters 0, row-major."""
        device = self._device(target)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            # Let other polls run, as a network round trip would.
            await asyncio.sleep(0)
            if device.hang is not None:
                await device.hang.wait()
            cursors = list(oids)
            answer: list[VarBind] = []
            for _ in range(max_repetitions):
                row = [device.next_of(oid) for oid in cursors]
                answer.extend(row)
                cursors = [oid for oid, _value in row]
                if all(value is Missing.END_OF_MIB_VIEW for _oid, value in row):
                    break
            return self._finish(device, answer)
        finally:
            self.in_flight -= 1

    async def aclose(self) -> None:
        """Nothing to release."""
        self.closed = True


def recording_device(path: Path, **options: object) -> FakeDevice:
    """A FakeDevice serving the recording at ``path``."""
    return FakeDevice(load_snmprec(path), **options)  # type: ignore[arg-type]
