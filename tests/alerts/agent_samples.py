"""What the agent really sends for a probe, recorded from its own ``http_probe`` check.

Alert tests and the simulator must build reports as the agent does: a helper that sends a
sample the agent never sends (an HTTP status 0 for a cut line, say) hides exactly the bugs that
matter. So the probe results of each state below are recorded once from the real check against
real servers on 127.0.0.1 (``python -m tests.alerts.agent_samples`` rewrites the JSON), and a
test records them again and compares, so the file cannot drift from the agent:

- ``ok``: a 200 login page; ``fail``: a 500; ``maintenance``: the maintenance page with 503;
- ``slow``: the server waits before its first byte; ``slow_path``: the TLS handshake is slow
  (the line, not the server);
- ``cut``: nothing answers the TCP handshake (the line is down): a connect timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agent.checks.http_probe import HttpProbeCheck, HttpProbeConfig, ProbeTarget
from tests.agent.checks.helpers import (
    TLSCapableServer,
    http_server,
    make_self_signed_cert,
    server_tls_context,
)

RECORDING = Path(__file__).with_name("data") / "agent_samples.json"
STATES = ("ok", "fail", "maintenance", "slow", "slow_path", "cut")
# Placeholders for the labels that name the probe: helpers put their own target and host back.
TARGET, HOST = "{target}", "{host}"
_SLOW_TLS_SECONDS = 0.6
_CUT_TIMEOUT_SECONDS = 1.0


class _SlowHandshake(TLSCapableServer):
    """A TLS server that takes its time before the handshake: a slow path."""

    def finish_request(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        time.sleep(_SLOW_TLS_SECONDS)
        super().finish_request(request, client_address)


@contextlib.contextmanager
def _slow_tls_server(tls: ssl.SSLContext) -> Iterator[str]:
    server = _SlowHandshake(tls)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextlib.contextmanager
def _unanswered_port() -> Iterator[int]:
    """A port whose accept queue is full: the kernel drops new handshakes, as a cut line does."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
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


def _shape(report: Any, target: str, host: str) -> dict[str, Any]:
    samples = []
    for sample in report.samples:
        labels = {
            key: TARGET if value == target else HOST if value == host else value
            for key, value in sample.labels.items()
        }
        samples.append({"name": sample.name, "labels": labels, "value": sample.value})
    events = [{"type": event.type, "attrs": sorted(event.attrs)} for event in report.events]
    return {"kind": report.kind.value, "samples": samples, "events": events}


async def record(workdir: Path) -> dict[str, dict[str, Any]]:
    """Probe one target per state with the real check; the results, labels made generic."""
    cert = make_self_signed_cert(workdir, days=365)
    with (
        http_server() as plain,
        _slow_tls_server(server_tls_context(cert)) as slow_tls,
        _unanswered_port() as dead_port,
    ):
        urls = {
            "ok": f"{plain}/login",
            "fail": f"{plain}/error",
            "maintenance": f"{plain}/maintenance503",
            "slow": f"{plain}/slow",
            "slow_path": f"{slow_tls}/login",
            "cut": f"http://127.0.0.1:{dead_port}/login",
        }
        targets = [
            ProbeTarget(
                name=state.replace("_", "-"),
                url=url,
                expected_marker="Đăng nhập",
                timeout_seconds=_CUT_TIMEOUT_SECONDS if state == "cut" else 10.0,
                ca_file=str(cert.cert_path) if state == "slow_path" else None,
            )
            for state, url in urls.items()
        ]
        check = HttpProbeCheck(HttpProbeConfig(targets=tuple(targets), pc_device_id="PC-01"))
        reports = await check.collect()
    out = {}
    for state, target, report in zip(urls, targets, reports, strict=True):
        out[state] = _shape(report, target.name, target.host)
    return out


def load() -> dict[str, dict[str, Any]]:
    """The recorded probe results per state."""
    data: dict[str, dict[str, Any]] = json.loads(RECORDING.read_text(encoding="utf-8"))
    return data


def signature(state: dict[str, Any]) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    """What a recorded state sends: sample names with their label names (and the phase)."""
    return {
        (
            sample["name"],
            tuple(
                sorted(
                    (key, value if key == "phase" else "*")
                    for key, value in sample["labels"].items()
                )
            ),
        )
        for sample in state["samples"]
    }


def main() -> None:
    """Record again and rewrite the JSON (after a change of the agent's probe)."""
    import tempfile

    with tempfile.TemporaryDirectory() as workdir:
        data = asyncio.run(record(Path(workdir)))
    RECORDING.write_text(
        json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )
    print(f"wrote {RECORDING}")


if __name__ == "__main__":
    main()
