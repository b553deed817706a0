"""Helpers of the flood drills: a collector process's memory through a flood, raw sockets."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import psutil

MIB = 1024 * 1024
# Issue 20's ceiling: the collector's RSS (its worker processes included) through any flood.
RSS_CEILING = 500 * MIB


def collector_rss(pid: int) -> int:
    """Resident memory of a collector process and its children (the validation worker)."""
    process = psutil.Process(pid)
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


@dataclass
class RssPeak:
    """The highest RSS seen while the block ran, sampled every 20 ms by a thread (also the main
    process's own peak, without its workers)."""

    pid: int
    before: int = 0
    peak: int = 0
    main_peak: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, collector_rss(self.pid))
                self.main_peak = max(self.main_peak, psutil.Process(self.pid).memory_info().rss)
            except psutil.NoSuchProcess:
                return
            self._stop.wait(0.02)

    @contextmanager
    def watching(self) -> Iterator[RssPeak]:
        """Sample while the block runs."""
        self.before = self.peak = collector_rss(self.pid)
        thread = threading.Thread(target=self._sample, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join(5)
            self.peak = max(self.peak, collector_rss(self.pid))

    def line(self, what: str) -> str:
        """The figure for the issue's note."""
        return (
            f"{what}: RSS {self.before / MIB:.0f} MiB before, peak {self.peak / MIB:.0f} MiB "
            f"(main process {self.main_peak / MIB:.0f} MiB)"
        )


def connect(port: int, timeout: float = 30.0) -> socket.socket:
    """A plain TCP connection to the collector on 127.0.0.1."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.settimeout(timeout)
    return sock


def push_until_closed(sock: socket.socket, head: bytes, chunk: bytes, most: int) -> int:
    """Send ``head`` then ``chunk`` after ``chunk`` until the server stops taking them or
    ``most`` bytes went; returns how many bytes were sent."""
    sent = 0
    try:
        sock.sendall(head)
        while sent < most:
            sock.sendall(chunk)
            sent += len(chunk)
    except OSError:  # reset or broken pipe: the server closed the connection, as it should
        pass
    return sent


def answer_of(sock: socket.socket) -> bytes:
    """What the server sent before it closed the connection (bounded by the socket timeout)."""
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except OSError:
        pass
    return b"".join(chunks)


def status_of(answer: bytes) -> int:
    """The status code of a raw HTTP answer (0 for none)."""
    parts = answer.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def healthz_latencies(url: str, stop: threading.Event, out: list[float]) -> None:
    """Time GET /healthz back to back until ``stop`` (one client, keep-alive)."""
    with httpx.Client(base_url=url, timeout=30) as client:
        while not stop.is_set():
            started = time.perf_counter()
            assert client.get("/healthz").status_code == 200
            out.append(time.perf_counter() - started)
