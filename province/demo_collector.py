"""The demo's collector in a process of its own, on the fleet's simulated clock (issue 22).

``commune-monitor demo`` used to serve its collector on the event loop of the process that
generates the fleet's reports. Both then shared one interpreter lock: in a whole province the
fleet took about half of it, and ``/metrics`` waited up to 0.55 s for a text it had ready. The
collector now runs as this module's child process, as it would in a deployment, and reads the
fleet's clock from a shared file (:mod:`sim.shared_clock`), so a compressed clock is the same
on both sides: the collector's skew correction sees no difference between a report's time and
its own.

The parent talks to the child over its standard input and output, one line each way:

* parent → child: the settings, the clock file, the listening socket's descriptor and the
  mailbox, as one JSON line; the child answers ``ready`` once it serves;
* ``sweep`` → ``swept``: the silence sweep after each delivered step, on simulated time, with
  the clock held at the step (:class:`sim.timeline.Pacer`);
* end of input (the parent stopped, or died): the child stops serving and exits.

The child ignores SIGINT (Ctrl-C reaches the whole process group; the parent decides when to
stop) and stops on SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

import uvicorn

READY = "ready"
SWEEP = "sweep"
SWEPT = "swept"
STOP_SECONDS = 30.0


class CollectorStopped(RuntimeError):
    """The collector process stopped, or answered something unexpected."""


@dataclass(frozen=True)
class CollectorRequest:
    """What the child needs to serve: everything but the socket is plain data."""

    settings: dict[str, Any]  # load_settings() overrides
    clock_file: str
    socket_fd: int
    maildir: str
    mail_port: int
    log_file: str


class CollectorChild:
    """The parent's handle on the collector process."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self._process = process

    @property
    def pid(self) -> int:
        return self._process.pid

    @classmethod
    def start(cls, request: CollectorRequest, sock: socket.socket) -> CollectorChild:
        """Start the child and wait (blocking) until it serves on ``sock``."""
        process = subprocess.Popen(
            [sys.executable, "-m", "province.demo_collector"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            pass_fds=(sock.fileno(),),
        )
        child = cls(process)
        try:
            child._say(json.dumps(asdict(request), default=str))
            child._expect(READY)
        except BaseException:
            child.stop()
            raise
        return child

    def _say(self, line: str) -> None:
        assert self._process.stdin is not None
        try:
            self._process.stdin.write(line + "\n")
            self._process.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise CollectorStopped(f"the collector process is gone ({exc})") from None

    def _expect(self, answer: str) -> None:
        assert self._process.stdout is not None
        line = self._process.stdout.readline().strip()
        if line != answer:
            code = self._process.poll()
            if not line:  # its output ended: it is exiting
                with contextlib.suppress(subprocess.TimeoutExpired):
                    code = self._process.wait(10)
            raise CollectorStopped(
                f"the collector process answered {line!r} instead of {answer!r}"
                + (f" and exited with {code}" if code is not None else "")
                + "; see the log"
            )

    def sweep(self) -> None:
        """Run the silence sweep in the child and wait until it is done (blocking)."""
        self._say(SWEEP)
        self._expect(SWEPT)

    def stop(self, timeout: float = STOP_SECONDS) -> int:
        """End its input (it stops serving and exits); terminated, then killed, if it lingers."""
        process = self._process
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.terminate()
            try:
                return process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                return process.wait()
        finally:
            if process.stdout is not None:
                process.stdout.close()


class QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: its owner decides when to stop (uvicorn's capture
    would re-raise the signal after shutdown and turn a clean stop into a KeyboardInterrupt)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _serve(request: CollectorRequest, answers: IO[str]) -> None:
    from collector.http_protocol import HeadDeadlineProtocol
    from collector.settings import load_settings
    from province.app import create_app
    from province.demo_mail import MailSink, mount_mailbox
    from province.service import build_service
    from sim.shared_clock import ClockFile, SharedClock

    settings = load_settings(**request.settings)
    clock_file = ClockFile(Path(request.clock_file))
    service = build_service(settings, clock=SharedClock(clock_file))
    HeadDeadlineProtocol.configure(
        settings.http_head_timeout_seconds, service.metrics.head_timeouts.inc
    )
    app = create_app(service)
    # The sink runs in the parent; this process only reads the Maildir it writes.
    mount_mailbox(app, service, MailSink(Path(request.maildir), request.mail_port))
    server = QuietServer(
        uvicorn.Config(app, log_level="warning", lifespan="on", http=HeadDeadlineProtocol)
    )
    sock = socket.socket(fileno=request.socket_fd)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, lambda: setattr(server, "should_exit", True))
    serving = asyncio.create_task(server.serve(sockets=[sock]), name="collector")

    def answer(line: str) -> None:
        answers.write(line + "\n")
        answers.flush()

    lines: asyncio.Queue[str] = asyncio.Queue()

    def read_input() -> None:
        # A daemon thread: a read blocked on a parent that says nothing never holds up the exit.
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line)
        loop.call_soon_threadsafe(lines.put_nowait, "")

    try:
        while not server.started:
            if serving.done():
                return  # uvicorn logged why; the parent sees the end of this output
            await asyncio.sleep(0.05)
        answer(READY)
        threading.Thread(target=read_input, name="parent", daemon=True).start()
        while True:
            reading = asyncio.ensure_future(lines.get())
            await asyncio.wait({reading, serving}, return_when=asyncio.FIRST_COMPLETED)
            if not reading.done():
                reading.cancel()
                break  # the server stopped (SIGTERM, or a failure it logged)
            line = reading.result()
            if not line:
                break  # the parent stopped (or died): stop serving
            if line.strip() == SWEEP:
                if service.alerting is not None:
                    await asyncio.to_thread(service.alerting.engine.sweep)
                answer(SWEPT)
    finally:
        server.should_exit = True
        await serving
        clock_file.close()


def main() -> int:
    """The child's entry point (``python -m province.demo_collector``; not for people)."""
    from province.demo_logging import logging_to

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Answers go on the original standard output; anything printed goes to standard error.
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    line = sys.stdin.readline()
    if not line:
        return 1
    request = CollectorRequest(**json.loads(line))
    with logging_to(Path(request.log_file)):
        asyncio.run(_serve(request, answers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
