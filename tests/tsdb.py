"""A real VictoriaMetrics on loopback for tests and benchmarks: start, stop by PID, restart."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from tests.services import free_port, require_binary


class VictoriaMetrics:
    """One single-node VictoriaMetrics process on 127.0.0.1 with its data in ``data_dir``."""

    def __init__(
        self, data_dir: Path, binary: str | None = None, extra_args: Sequence[str] = ()
    ) -> None:
        self.binary = binary or require_binary("victoria-metrics")
        self.data_dir = data_dir
        self.extra_args = list(extra_args)  # e.g. -promscrape.config=... (tests/dashboards)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log = data_dir.parent / f"vm-{self.port}.log"

    def start(self) -> VictoriaMetrics:
        """Start (or restart, same port and data) and wait until it answers /health."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self._log.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    self.binary,
                    f"-storageDataPath={self.data_dir}",
                    f"-httpListenAddr=127.0.0.1:{self.port}",
                    # Tests write points from years ago (replays) and query just-written ones.
                    "-retentionPeriod=100y",
                    "-search.latencyOffset=0s",
                    "-search.disableCache",
                    # The sink delivers at least once; identical re-sent points collapse.
                    "-dedup.minScrapeInterval=1ms",
                    "-loggerLevel=ERROR",
                    *self.extra_args,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"victoria-metrics exited: {self._log.read_text()[-2000:]}")
            time.sleep(0.05)  # waiting for a real process to come up; no clock to advance
        raise RuntimeError("victoria-metrics did not become healthy in 30 s")

    def stop(self) -> None:
        """Stop the process started here, by its PID (SIGINT: VictoriaMetrics flushes and exits)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.proc = None

    def flush(self) -> None:
        """Make every written point searchable now (VictoriaMetrics buffers for ~1 s)."""
        httpx.get(f"{self.url}/internal/force_flush", timeout=10).raise_for_status()

    def export(self, match: str) -> list[dict[str, Any]]:
        """Raw samples of every series matching ``match``: [{metric, values, timestamps}]."""
        self.flush()
        response = httpx.get(
            f"{self.url}/api/v1/export",
            params={"match[]": match, "start": "0"},
            timeout=60,
        )
        response.raise_for_status()
        # Not splitlines(): it also splits at U+2028 and friends, which label values may hold.
        return [json.loads(line) for line in response.text.split("\n") if line]

    def query(self, promql: str, at: float | None = None) -> list[dict[str, Any]]:
        """An instant PromQL query; the result vector (or matrix) as returned."""
        self.flush()
        params: dict[str, str] = {"query": promql}
        if at is not None:
            params["time"] = str(at)
        response = httpx.get(f"{self.url}/api/v1/query", params=params, timeout=60)
        body = response.json()
        assert body.get("status") == "success", (promql, body)
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def query_range(self, promql: str, start: float, end: float, step: str) -> dict[str, Any]:
        """A range PromQL query; the raw response body."""
        self.flush()
        response = httpx.get(
            f"{self.url}/api/v1/query_range",
            params={"query": promql, "start": str(start), "end": str(end), "step": step},
            timeout=60,
        )
        body: dict[str, Any] = response.json()
        return body

    def label_values(self, label: str, match: str, start: float, end: float) -> list[str]:
        """Values of ``label`` on series matching ``match`` (Grafana's label_values())."""
        self.flush()
        response = httpx.get(
            f"{self.url}/api/v1/label/{label}/values",
            params={"match[]": match, "start": str(start), "end": str(end)},
            timeout=60,
        )
        response.raise_for_status()
        values: list[str] = response.json()["data"]
        return values
