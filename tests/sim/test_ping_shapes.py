"""The site agent's pings as the real ``ping`` check sends them (against 127.0.0.1) and as the
simulator does: the line as a ``link`` device, a LAN device (a UPS) under its own id and kind."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from typing import Any

from agent.checks.ping.check import PingCheck, PingConfig
from agent.wire import DeviceKind, DeviceReport
from sim.shapes import PingShape


@contextlib.contextmanager
def _listening() -> Iterator[int]:
    """A port on 127.0.0.1 that accepts TCP connections (a device that answers)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield int(listener.getsockname()[1])


@contextlib.contextmanager
def _unanswered() -> Iterator[int]:
    """A port whose accept queue is full: handshakes go unanswered, as to a device off."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = int(listener.getsockname()[1])
    fillers = []
    try:
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
            fillers.append(filler)
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def _shape(report: DeviceReport | dict[str, Any]) -> tuple[str, str, set[Any], set[Any]]:
    """Device id, kind, (sample name, label names) and (event type, attribute names)."""
    device = report if isinstance(report, dict) else report.model_dump(mode="json")
    return (
        device["device_id"],
        device["kind"],
        {(s["name"], tuple(sorted(s["labels"]))) for s in device["samples"]},
        {(e["type"], tuple(sorted(e["attrs"]))) for e in device["events"]},
    )


async def test_the_sim_pings_as_the_ping_check_does_the_line_and_a_lan_device() -> None:
    with _listening() as up_port, _unanswered() as down_port:
        targets = [
            {"name": "wan", "address": "127.0.0.1", "method": "tcp", "tcp_port": up_port},
            {
                "name": "13285-ups-01",
                "address": "127.0.0.1",
                "method": "tcp",
                "tcp_port": up_port,
                "device_id": "13285-UPS-01",
                "kind": "ups",
            },
            {
                "name": "13285-ups-02",
                "address": "127.0.0.1",
                "method": "tcp",
                "tcp_port": down_port,
                "device_id": "13285-UPS-02",
                "kind": "ups",
            },
        ]
        config = PingConfig.model_validate(
            {
                "targets": targets,
                "count": 2,
                "interval_seconds": 0.2,
                "timeout_seconds": 0.3,
                "pc_device_id": "13285-site",
            }
        )
        line, ups_up, ups_down = await PingCheck(config).collect()
    sim_line = PingShape("ping:wan@13285-site", DeviceKind.LINK, "wan", "127.0.0.1", "13285-site")
    sim_ups = PingShape("13285-UPS-01", DeviceKind.UPS, "13285-ups-01", "127.0.0.1", "13285-site")
    sim_off = PingShape("13285-UPS-02", DeviceKind.UPS, "13285-ups-02", "127.0.0.1", "13285-site")
    # Same ids, kinds, samples with the same labels, and the same events, up and down.
    assert _shape(line) == _shape(sim_line.report(True, 0.02, facts=False))
    assert _shape(ups_up) == _shape(sim_ups.report(True, 0.001, facts=False))
    assert _shape(ups_down) == _shape(sim_off.report(False, 0.0, facts=False))
    assert ups_down.events[0].attrs["error_class"] == "timeout"
