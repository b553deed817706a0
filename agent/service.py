"""The agent service process: what ``commune-agent run`` runs, without what only the CLI needs.

``commune-agent run`` parses its options and settings (typer, pydantic-settings) and checks the
identity; then, on POSIX, it replaces itself with ``python -m agent.service LAUNCH``. The process
keeps its id (systemd, ``kill``, the tests' kill -9 see one process) but starts afresh without
typer and pydantic-settings: about 5 MiB less resident for the life of the service (docs/agent.md,
"Footprint"). Windows has no exec that keeps the process (NSSM and the Task Scheduler would see
it exit), so there ``serve`` runs inside the CLI process.

``LAUNCH`` is a ``Launch`` as JSON: the resolved settings and ``--max-seconds``. It is the internal
interface between the two halves of ``run``, not a command for people.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.errors import AgentError, IdentityError
from agent.identity import Identity, load_identity
from agent.logs import setup_logging
from agent.settings import AgentSettings

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


class Launch(BaseModel):
    """What the CLI hands the service process: settings already merged and validated."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    settings: AgentSettings
    max_seconds: float | None = Field(default=None, ge=1, le=31_536_000)


async def serve(settings: AgentSettings, identity: Identity, max_seconds: float | None) -> None:
    """Run the agent until SIGTERM / Ctrl+C (or ``max_seconds``), then stop with a goodbye."""
    from agent.lifecycle import StopRequest, StopTrigger
    from agent.runner import make_client
    from agent.service_loop import AgentService

    loop = asyncio.get_running_loop()
    # Checks use worker threads for blocking calls; a few are enough, and fewer threads mean
    # fewer malloc arenas and stacks on a 4 GB PC. (Requests to the collector and the stop
    # probe run in daemon threads of their own: agent.threads.)
    loop.set_default_executor(ThreadPoolExecutor(max_workers=4, thread_name_prefix="agent"))
    stop = StopRequest()
    # Which signal it was helps tell the reason: Ctrl+C of a console run is "interrupted".
    for sig, trigger in (
        (signal.SIGTERM, StopTrigger.TERMINATE),
        (signal.SIGINT, StopTrigger.INTERRUPT),
    ):
        try:
            loop.add_signal_handler(sig, stop.request, trigger)
        except (NotImplementedError, RuntimeError):
            # Windows: no loop signal handlers. NSSM and the console send Ctrl+C (SIGINT).
            signal.signal(sig, lambda *_, t=trigger: loop.call_soon_threadsafe(stop.request, t))
    if max_seconds:
        loop.call_later(max_seconds, stop.request, StopTrigger.DEADLINE)
    async with make_client(settings, identity) as client:
        service = AgentService(settings, identity, client=client)
        try:
            await service.run(stop)
        finally:
            service.close()


def run_service(settings: AgentSettings, max_seconds: float | None) -> int:
    """Load the identity and serve; the exit code, with the reason on stderr when it is not 0."""
    try:
        identity = load_identity(settings.identity_path)
        asyncio.run(serve(settings, identity, max_seconds))
    except IdentityError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except (OSError, AgentError, sqlite3.Error) as exc:
        print(f"error: agent stopped: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return 0


def _interpreter_options() -> list[str]:
    # The new interpreter starts the way this one was started (-I, -E, -O, -X ..., -W ...).
    flags = sys.flags
    options = [
        option
        for option, on in (
            ("-I", flags.isolated),
            ("-E", flags.ignore_environment and not flags.isolated),
            ("-s", flags.no_user_site and not flags.isolated),
            ("-B", flags.dont_write_bytecode),
        )
        if on
    ]
    options += ["-O"] * flags.optimize
    options += [f"-W{option}" for option in sys.warnoptions]
    options += [
        f"-X{key}" if value is True else f"-X{key}={value}" for key, value in sys._xoptions.items()
    ]
    return options


def exec_command(settings: AgentSettings, max_seconds: float | None) -> list[str]:
    """The command line that ``exec_service`` runs."""
    launch = Launch(settings=settings, max_seconds=max_seconds).model_dump_json()
    return [sys.executable, *_interpreter_options(), "-m", "agent.service", launch]


def exec_service(settings: AgentSettings, max_seconds: float | None) -> None:
    """Replace this process by a fresh service process (POSIX); raises OSError if it cannot."""
    command = exec_command(settings, max_seconds)
    # Nothing buffered may be lost with the old process image.
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(command[0], command)  # noqa: S606 - this interpreter, arguments built above


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m agent.service LAUNCH``: the second half of ``commune-agent run``."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if len(args) != 1:
            raise ValueError(f"expected one argument, got {len(args)}")
        launch = Launch.model_validate_json(args[0])
    except (ValueError, ValidationError) as exc:
        print(
            "error: agent.service is started by 'commune-agent run' (use that command): "
            f"invalid launch argument: {exc}",
            file=sys.stderr,
        )
        sys.exit(EXIT_BAD_INPUT)
    setup_logging(launch.settings.log_level)
    sys.exit(run_service(launch.settings, launch.max_seconds))


if __name__ == "__main__":
    main()
