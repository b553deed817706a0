"""``commune-monitor demo``: a whole simulated province on one machine, with one command.

It creates an embedded SQLite data folder, migrates it, loads the province's communes, writes the
fleet's asset register next to it, back-fills history through the real HTTP ingest, then serves
the collector (uvicorn, in this process) while the live fleet reports to it through real agent
spools and senders, with the faults of a scenario. Every part reads one :class:`SimClock`, so at
``--speed 60`` the collector, the agents and the faults all live one simulated minute per second.

History goes through the deployment's separate layout, ``serve --no-processor --workers 2``
beside ``process`` (children on a free loopback port), so that ingest and journal processing use
both cores while this process generates the reports; the clock runs at real speed until the
history is processed. The live collector runs in this process rather than as a ``serve`` child
because a separate process would read the real clock: with a compressed clock its skew
correction would move every report back to real time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, TypeVar

import typer

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID
    from sqlalchemy import Engine

    from collector.settings import Settings
    from collector.sim import BackfillResult, Driver, StepResult
    from collector.sim.scenario import ResolvedScenario
    from web.accounts import User

DEFAULT_PROVINCE = "37"  # Ninh Bình: 129 communes, the province the tests use too.
DEFAULT_DATA_DIR = Path("./commune-monitor-demo")
MARKER = "demo.json"  # Marks a folder this command created, so that a rerun may wipe it.
VN = timedelta(hours=7)
_T = TypeVar("_T")


class DemoError(Exception):
    """The demo cannot start as asked (bad option, folder not ours, port taken)."""


@dataclass(frozen=True)
class DemoOptions:
    """What ``commune-monitor demo`` was told."""

    province: str = DEFAULT_PROVINCE
    communes: int | None = 40
    speed: float = 10.0
    scenario: Path | None = None
    data_dir: Path = DEFAULT_DATA_DIR
    host: str = "127.0.0.1"
    port: int = 8080
    backfill_days: float = 30.0
    # Hourly: 30 days of 40 communes is ~350,000 reports, about a minute and a half through the
    # real ingest and processing on 2 cores (benchmarks/fleet.py measures the whole province).
    backfill_step_minutes: float = 60.0
    interval_seconds: float = 60.0
    seed: int = 0


def prepare_data_dir(path: Path, options: DemoOptions) -> bool:
    """Create an empty data folder; True if a previous demo's folder was wiped first.

    A folder is wiped only if it carries this command's marker: a user's folder is never deleted.
    """
    wiped = False
    if path.exists():
        if not path.is_dir():
            raise DemoError(f"--data-dir {path} exists and is not a folder")
        if any(path.iterdir()):
            if not (path / MARKER).is_file():
                raise DemoError(
                    f"--data-dir {path} is not empty and was not made by 'commune-monitor demo'; "
                    "choose another folder / chọn thư mục khác"
                )
            shutil.rmtree(path)
            wiped = True
    path.mkdir(parents=True, exist_ok=True)
    marker = {**asdict(options), "created_at": datetime.now(UTC).isoformat()}
    (path / MARKER).write_text(json.dumps(marker, default=str, indent=1), encoding="utf-8")
    return wiped


def _listen(host: str, port: int) -> socket.socket:
    """Bind the port first, so that a taken port is a clear error before any work is done."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise DemoError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock


@contextlib.contextmanager
def _logging_to(path: Path) -> Iterator[None]:
    """Send log records to a file: the console keeps the demo's own lines readable."""
    root = logging.getLogger()
    saved = list(root.handlers)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for old in saved:
        root.removeHandler(old)
    root.addHandler(handler)
    # One line per agent POST would be most of the file and a measurable share of the CPU.
    httpx_logger = logging.getLogger("httpx")
    httpx_level = httpx_logger.level
    httpx_logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        httpx_logger.setLevel(httpx_level)
        root.removeHandler(handler)
        handler.close()
        for old in saved:
            root.addHandler(old)


def _local(at: datetime) -> str:
    return (at + VN).strftime("%Y-%m-%d %H:%M")


@contextlib.contextmanager
def _progress(console: Console, total: int, label: str) -> Iterator[tuple[Progress, TaskID]]:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        yield progress, progress.add_task(label, total=total)


async def _serve_and_run(
    options: DemoOptions, console: Console, stop: asyncio.Event, sock: socket.socket
) -> None:
    import uvicorn

    from collector import communes, migrate
    from collector.api import create_app
    from collector.cli import BUNDLED_UNITS
    from collector.db import make_engine
    from collector.http_protocol import HeadDeadlineProtocol
    from collector.service import build_service
    from collector.settings import load_settings
    from collector.sim import Driver, SimClock, generate_fleet, load_scenario, utc_minute
    from inventory.store import import_register
    from web.accounts import create_demo_users

    class _Server(uvicorn.Server):
        # This command handles SIGINT/SIGTERM itself (stop event); uvicorn's own capture would
        # re-raise the signal after shutdown and turn a clean stop into a KeyboardInterrupt.
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    host, port = sock.getsockname()[:2]
    url = f"http://{host}:{port}"
    admin_token = secrets.token_urlsafe(18)
    scenario = load_scenario(options.scenario)  # Checked before any slow work.
    # Real time while history is written by the child processes (they read the real clock);
    # compressed from the start of the live run.
    clock = SimClock(datetime.now(UTC), 1.0)
    settings = load_settings(
        data_dir=options.data_dir,
        host=host,
        port=port,
        public_url=url,
        province_code=options.province,
        admin_token=admin_token,
        # An agent reporting every interval is alive until 1.5 intervals of silence.
        heartbeat_seconds=max(options.interval_seconds, 30.0),
        # A demo survives a process crash but not a power cut: one fsync per group commit less.
        sqlite_synchronous="NORMAL",
    )
    engine = make_engine(settings)
    migrate.upgrade(engine)
    units = communes.read_units(BUNDLED_UNITS, options.province)
    communes.load_units(engine, units)
    fleet = generate_fleet(
        BUNDLED_UNITS, options.province, seed=options.seed, max_communes=options.communes
    )
    scenario.resolve(fleet, clock.now())  # A target beyond this fleet fails now, not later.
    register = fleet.write_register(options.data_dir / "register.csv")
    console.print(
        f"Tỉnh / province {fleet.province_code} {fleet.province_name}: {len(units)} xã/phường "
        f"loaded, {len(fleet.communes)} simulated, {len(fleet.agents)} agents, "
        f"{len(fleet.devices)} devices"
    )
    # The register goes through the same all-or-nothing importer as a finance officer's file.
    imported = import_register(
        engine, register.read_bytes(), filename=register.name, now=clock.now()
    )
    console.print(f"Sổ tài sản / asset register: {imported.assets} assets imported from {register}")
    logins = create_demo_users(engine, clock.now())
    driver = Driver(
        fleet,
        base_url=url,
        spool_dir=options.data_dir / "agent-spools",
        clock=clock,
        interval_seconds=options.interval_seconds,
    )
    server: uvicorn.Server | None = None
    server_task: asyncio.Task[None] | None = None
    try:
        driver.enrol(engine)
        if options.backfill_days > 0 and not stop.is_set():
            await _backfill(driver, options, console, stop, settings, engine)
        if stop.is_set():
            return
        clock.set_speed(options.speed)
        service = build_service(settings, clock=clock, engine=engine)
        HeadDeadlineProtocol.configure(
            settings.http_head_timeout_seconds, service.metrics.head_timeouts.inc
        )
        server = _Server(
            uvicorn.Config(
                create_app(service), log_level="warning", lifespan="on", http=HeadDeadlineProtocol
            )
        )
        server_task = asyncio.create_task(server.serve(sockets=[sock]), name="collector")
        while not server.started:
            if server_task.done():
                raise DemoError("the collector stopped while starting; see the log above")
            await asyncio.sleep(0.05)
        live_start = utc_minute(clock.now()) + timedelta(minutes=1)
        resolved = scenario.resolve(fleet, live_start)
        driver.faults = resolved.faults
        driver.open_spools()
        _announce(console, url, admin_token, options, resolved, live_start, logins)
        await driver.run(stop, on_step=_StatusLine(console, driver, resolved))
    finally:
        console.print("Đang dừng / stopping…")
        await driver.aclose()
        if server is not None and server_task is not None:
            server.should_exit = True
            await server_task
        engine.dispose()


async def _backfill(
    driver: Driver,
    options: DemoOptions,
    console: Console,
    stop: asyncio.Event,
    settings: Settings,
    engine: Engine,
) -> None:
    end = driver.clock.now()
    start = end - timedelta(days=options.backfill_days)
    begun = time.perf_counter()
    async with _history_collector(settings, options.data_dir / "demo.log") as history_url:
        with _progress(
            console, len(driver.runtimes), f"Lịch sử / history, {options.backfill_days:g} days"
        ) as (progress, task):
            result = await _until_stopped(
                driver.backfill(
                    start,
                    end,
                    step_seconds=options.backfill_step_minutes * 60,
                    progress=lambda done: progress.update(task, completed=done),
                    base_url=history_url,
                ),
                stop,
            )
        if result is None:
            return
        with _progress(console, 1, "Xử lý / processing") as (progress, task):
            if await _until_stopped(_processed(engine, progress, task), stop) is None:
                return
    _report_backfill(console, result, time.perf_counter() - begun)


def _report_backfill(console: Console, result: BackfillResult, seconds: float) -> None:
    console.print(
        f"Back-fill: {result.reports:,} reports ({result.samples:,} samples) stored and processed "
        f"in {seconds:.0f} s, {result.reports / max(seconds, 1e-9):,.0f} reports/s"
        + (f"; {len(result.failures)} refused" if result.failures else "")
    )


async def _until_stopped(work: Awaitable[_T], stop: asyncio.Event) -> _T | None:
    """The result of ``work``, or None if ``stop`` is set first (``work`` is then cancelled)."""
    task = asyncio.ensure_future(work)
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return None
    return task.result()


async def _processed(engine: Engine, progress: Progress, task: TaskID) -> bool:
    """Wait until the journal processor has consumed every stored report, showing its progress."""
    from sqlalchemy import func, select

    from collector.schema import cursors, journal

    def positions() -> tuple[int, int]:
        with engine.connect() as conn:
            top = conn.execute(select(func.max(journal.c.id))).scalar_one() or 0
            done = conn.execute(
                select(cursors.c.position).where(cursors.c.name == "processor")
            ).scalar_one_or_none()
        return int(top), int(done or 0)

    while True:
        top, done = await asyncio.to_thread(positions)
        progress.update(task, total=max(top, 1), completed=min(done, top))
        if done >= top:
            return True
        await asyncio.sleep(0.5)


@contextlib.asynccontextmanager
async def _history_collector(settings: Settings, log_file: Path) -> AsyncIterator[str]:
    """``serve --no-processor`` and ``process`` on the demo's store: the URL to post history to.

    Both are stopped by their PIDs on the way out; ``process`` with SIGINT, which releases its
    lease so that this process's own processor takes over at once.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    children: list[tuple[subprocess.Popen[bytes], signal.Signals]] = []
    with log_file.open("ab") as log_sink:
        try:
            _start_children(children, settings, port, log_sink)
            url = f"http://127.0.0.1:{port}"
            await _wait_ready(url, [child for child, _ in children])
            yield url
        finally:
            for child, stop_signal in reversed(children):
                await asyncio.to_thread(_stop_child, child, stop_signal)


def _start_children(
    children: list[tuple[subprocess.Popen[bytes], signal.Signals]],
    settings: Settings,
    port: int,
    log_sink: IO[bytes],
) -> None:
    """Start the processor, then ingest; each is appended to ``children`` as soon as it runs."""
    env = {**os.environ, **_child_settings(settings)}
    base = [sys.executable, "-m", "collector", "--log-level", "WARNING"]
    # Two ingest workers: with a month of one agent per POST, validation is most of the work and
    # SQLite's single writer is not the limit (benchmarks/fleet.py --layout workers2).
    serve = ["serve", "--no-processor", "--no-migrate", "--workers", "2"]
    serve += ["--host", "127.0.0.1", "--port", str(port)]
    for args, stop_signal in ((["process"], signal.SIGINT), (serve, signal.SIGTERM)):
        child = subprocess.Popen([*base, *args], env=env, stdout=log_sink, stderr=subprocess.STDOUT)
        children.append((child, stop_signal))


def _child_settings(settings: Settings) -> dict[str, str]:
    """The demo's settings as COMMUNE_MONITOR_* variables for the history processes."""
    from pydantic import SecretStr

    out: dict[str, str] = {}
    for name, value in settings.model_dump(exclude_unset=True).items():
        if value is None or name in ("host", "port"):
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        out[f"COMMUNE_MONITOR_{name.upper()}"] = str(value)
    # History is fault-free and ends now: no agent is silent yet, so no silence sweep (it would
    # find every agent quiet since its last back-filled report) runs while it is written.
    out["COMMUNE_MONITOR_ALERTS_SWEEP_SECONDS"] = str(24 * 3600)
    return out


async def _wait_ready(url: str, children: Sequence[subprocess.Popen[bytes]]) -> None:
    import httpx

    deadline = time.monotonic() + 60.0
    async with httpx.AsyncClient(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if any(child.poll() is not None for child in children):
                raise DemoError("a history process stopped while starting; see demo.log")
            with contextlib.suppress(httpx.TransportError):
                if (await client.get(f"{url}/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise DemoError(f"the history collector did not answer {url}/readyz within 60 s")


def _stop_child(child: subprocess.Popen[bytes], stop_signal: signal.Signals) -> None:
    if child.poll() is None:
        child.send_signal(stop_signal)
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _announce(
    console: Console,
    url: str,
    admin_token: str,
    options: DemoOptions,
    resolved: ResolvedScenario,
    live_start: datetime,
    logins: Sequence[tuple[User, str]],
) -> None:
    console.print()
    console.print(f"[bold]Bảng điều khiển / web console: {url}/web[/bold]")
    for user, password in logins:
        console.print(f"  {user.role.value:<8} {user.username:<12} mật khẩu / password: {password}")
    console.print(f"Collector / máy thu: {url}")
    console.print(f"  /metrics (Prometheus), /docs (API), /readyz; admin token: {admin_token}")
    console.print(f"  curl -H 'Authorization: Bearer {admin_token}' {url}/api/v1/agents")
    console.print(
        f"Kịch bản / scenario '{resolved.name}', simulated time ×{options.speed:g} from "
        f"{_local(live_start)} (Asia/Ho_Chi_Minh):"
    )
    for incident in resolved.ground_truth:
        where = incident.device_id or incident.commune_code or "toàn tỉnh / province"
        console.print(
            f"  {_local(incident.start)} → {_local(incident.end)[11:]}  "
            f"{incident.problem_class:<20} {where}  ({incident.fault_id})"
        )
    console.print("Ctrl-C để dừng / to stop.")


class _StatusLine:
    """One line every ten steps, and whenever the set of active faults changes."""

    def __init__(self, console: Console, driver: Driver, resolved: ResolvedScenario) -> None:
        self._console = console
        self._driver = driver
        self._faults = resolved.faults
        self._active: frozenset[str] = frozenset()
        self._steps = 0

    def __call__(self, result: StepResult) -> None:
        self._steps += 1
        active = frozenset(f.id for f in self._faults if f.active(result.at))
        if active == self._active and self._steps % 10 != 1:
            return
        started, ended = sorted(active - self._active), sorted(self._active - active)
        self._active = active
        spooled = sum(
            runtime.spool.stats().depth for runtime in self._driver.runtimes if runtime.spool
        )
        change = "".join(f"  +{name}" for name in started) + "".join(f"  -{name}" for name in ended)
        self._console.print(
            f"{_local(result.at)}  {result.reports} reports, {result.sent} sent, "
            f"{spooled} spooled{change}"
        )


def run_demo(options: DemoOptions, console: Console | None = None) -> int:
    """Run the demo until SIGINT or SIGTERM; returns the process exit code."""
    from rich.console import Console

    console = console or Console()
    if options.speed <= 0:
        raise DemoError("--speed must be greater than 0")
    wiped = prepare_data_dir(options.data_dir, options)
    if wiped:
        console.print(f"Previous demo data in {options.data_dir} removed.")
    sock = _listen(options.host, options.port)
    log_file = options.data_dir / "demo.log"
    console.print(f"Nhật ký / log: {log_file}")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await _serve_and_run(options, console, stop, sock)

    try:
        with _logging_to(log_file):
            asyncio.run(main())
    finally:
        sock.close()
    console.print("Đã dừng / stopped.")
    return 0


def demo_command(
    ctx: typer.Context,
    province: Annotated[
        str, typer.Option(help="Province code (2 digits) from the 2025 list.")
    ] = DEFAULT_PROVINCE,
    communes: Annotated[
        int | None,
        typer.Option(
            min=1, help="Simulate only the first N communes (all are loaded). Default 40."
        ),
    ] = 40,
    all_communes: Annotated[
        bool, typer.Option("--all-communes", help="Simulate every commune of the province.")
    ] = False,
    speed: Annotated[
        float, typer.Option(help="Simulated seconds per real second (60: a minute a second).")
    ] = 10.0,
    scenario: Annotated[
        Path | None, typer.Option(help="Scenario YAML of faults. Default: the bundled one.")
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(help=f"Demo data folder (recreated on each run). Default {DEFAULT_DATA_DIR}."),
    ] = None,
    host: Annotated[str, typer.Option(help="Listen address.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Listen port.")] = 8080,
    backfill_days: Annotated[
        float, typer.Option(min=0, help="Days of history generated before the live run.")
    ] = 30.0,
    backfill_step: Annotated[
        float,
        typer.Option(
            min=1,
            help="Minutes between back-filled reports. Default 60 (hourly: about 350,000 reports "
            "for 40 communes, a minute or two on 2 cores); 240 starts four times sooner.",
        ),
    ] = 60.0,
    interval: Annotated[
        float, typer.Option(min=1, help="Simulated seconds between an agent's live reports.")
    ] = 60.0,
    seed: Annotated[int, typer.Option(help="Seed of the fleet and its behaviour.")] = 0,
) -> None:
    """Run a simulated province end to end: store, history, collector, live fleet with faults."""
    overrides = getattr(ctx.obj, "overrides", {}) or {}
    options = DemoOptions(
        province=province,
        communes=None if all_communes else communes,
        speed=speed,
        scenario=scenario,
        data_dir=data_dir or overrides.get("data_dir") or DEFAULT_DATA_DIR,
        host=host,
        port=port,
        backfill_days=backfill_days,
        backfill_step_minutes=backfill_step,
        interval_seconds=interval,
        seed=seed,
    )
    from collector.errors import CollectorError

    try:
        code = run_demo(options)
    except (DemoError, CollectorError, ValueError) as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=2) from None
    except KeyboardInterrupt:  # Before the event loop took the signal over.
        sys.exit(130)
    raise typer.Exit(code=code)
