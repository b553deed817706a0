"""``commune-monitor demo``: a whole simulated province on one machine, with one command.

It creates an embedded SQLite data folder, migrates it, loads the province's communes, writes the
fleet's asset register and working calendar next to it, back-fills history through the real HTTP
ingest, then serves the collector (uvicorn, in a child process) while the live fleet reports to it
through real agent spools and senders, with the faults of a scenario. Every part reads one
:class:`sim.SimClock`: the live run starts at ``--start`` (by default the most recent Friday at
15:30, Vietnam time, where the history ends) and runs ``--speed`` times as fast as real time
while something can be seen, ``--quiet-speed`` at night and at weekends (:mod:`sim.timeline`).
The clock is held at each step until its reports are delivered, so a slow machine slows the demo
instead of inventing outages; the silence sweep runs after each step, on simulated time.

History goes through the deployment's separate layout, ``serve --no-processor --workers 2``
beside ``process`` (children on a free loopback port), so that ingest and journal processing use
both cores while this process generates the reports; those children read the real clock, so the
history is sent with real ``sent_at`` times (measured in the past, sent now) and the simulated
clock waits at the start until the history is processed. The live collector is not a ``serve``
child, which would read the real clock (with a compressed clock its skew correction would move
every report back to real time), but :mod:`province.demo_collector`, which reads this process's
simulated clock from a shared file: in a process of its own, it does not wait for the fleet's
report generation to answer a scrape.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import shutil
import signal
import socket
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from agent.vntime import to_local
from province.demo_logging import logging_to

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID
    from sqlalchemy import Engine

    from alerts.calendar import WorkingCalendar
    from collector.settings import Settings
    from province.demo_mail import MailSink
    from sim import BackfillResult, Driver, Fleet, SimClock
    from sim.scenario import ResolvedScenario
    from sim.shared_clock import ClockFile
    from sim.timeline import Pace
    from web.accounts import User

DEFAULT_PROVINCE = "37"  # Ninh Bình: 129 communes, the province the tests use too.
DEFAULT_DATA_DIR = Path("./commune-monitor-demo")
MARKER = "demo.json"  # Marks a folder this command created, so that a rerun may wipe it.
CALENDAR_FILE = "calendar.yaml"  # The bundled calendar plus the scenario's Saturday communes.
CLOCK_FILE = "clock.bin"  # The simulated clock, shared with the collector's process.
# A minute a second while something happens (a Friday afternoon takes about two minutes), ten
# minutes a second at night and at weekends: Saturday morning comes about five minutes after the
# live start, and the whole default scenario has played in about eleven.
DEFAULT_SPEED = 60.0
DEFAULT_QUIET_SPEED = 600.0
_T = TypeVar("_T")


class DemoError(Exception):
    """The demo cannot start as asked (bad option, folder not ours, port taken)."""


@dataclass(frozen=True)
class DemoOptions:
    """What ``commune-monitor demo`` was told."""

    province: str = DEFAULT_PROVINCE
    communes: int | None = 40
    speed: float = DEFAULT_SPEED
    quiet_speed: float = DEFAULT_QUIET_SPEED
    # The live run's start (UTC, in the past); None: the most recent Friday 15:30 in Vietnam.
    start: datetime | None = None
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


def _local(at: datetime) -> str:
    return to_local(at).strftime("%Y-%m-%d %H:%M")


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


@dataclass
class _Prepared:
    """What the live run works with once the store, the fleet and the history are ready."""

    settings: Settings
    engine: Engine
    fleet: Fleet
    resolved: ResolvedScenario
    calendar: WorkingCalendar
    clock: SimClock
    clock_file: ClockFile
    driver: Driver
    logins: list[tuple[User, str]]
    mail: MailSink
    # The settings as load_settings() overrides: the collector process builds its own from them.
    overrides: dict[str, Any]


def _prepare(
    options: DemoOptions, console: Console, url: str, admin_token: str, mail: MailSink
) -> _Prepared:
    """Store, communes, fleet, calendar, scenario, register, users and enrolled agents; the
    collector's e-mail goes to the local sink ``mail``."""
    from alerts.calendar import load_calendar
    from collector import communes
    from collector.communes import BUNDLED_UNITS
    from collector.db import make_engine
    from collector.settings import load_settings
    from inventory.store import import_register
    from province import migrate
    from sim import Driver, SimClock, generate_fleet, load_scenario
    from sim.shared_clock import ClockFile
    from sim.timeline import calendar_text, default_start
    from web.accounts import create_demo_users

    scenario = load_scenario(options.scenario)  # Checked before any slow work.
    start = options.start or default_start(datetime.now(UTC))
    fleet = generate_fleet(
        BUNDLED_UNITS, options.province, seed=options.seed, max_communes=options.communes
    )
    # A target beyond this fleet fails now, not later; the Saturday communes make the calendar
    # that the collector and the simulated PCs share.
    saturdays = scenario.resolve(fleet, start).saturday_communes
    calendar_file = options.data_dir / CALENDAR_FILE
    calendar_file.write_text(calendar_text(saturdays), encoding="utf-8")
    calendar = load_calendar(calendar_file)
    resolved = scenario.resolve(fleet, start, calendar)
    host, port = urlsplit(url).hostname, urlsplit(url).port
    overrides: dict[str, Any] = dict(
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
        alerts_calendar_file=calendar_file,
        # The demo sweeps after each simulated step itself (on simulated time, not real time).
        alerts_sweep_seconds=24 * 3600.0,
        # Ticket e-mail to the local sink, shown on the console's "Hộp thư" page (issue 22).
        **mail.settings(),
    )
    settings = load_settings(**overrides)
    # Held at the start while the history is written and processed (by processes reading the
    # real clock); compressed from the start of the live run. The live collector's process
    # reads it from the shared file.
    clock_file = ClockFile(options.data_dir / CLOCK_FILE, create=True)
    clock = SimClock(start, 1.0, held=True, on_change=clock_file.publish)
    engine = make_engine(settings)
    migrate.upgrade(engine)
    units = communes.read_units(BUNDLED_UNITS, options.province)
    communes.load_units(engine, units)
    register = fleet.write_register(options.data_dir / "register.csv")
    console.print(
        f"Tỉnh / province {fleet.province_code} {fleet.province_name}: {len(units)} xã/phường "
        f"loaded, {len(fleet.communes)} simulated, {len(fleet.agents)} agents, "
        f"{len(fleet.devices)} devices"
    )
    # The register goes through the same all-or-nothing importer as a finance officer's file.
    imported = import_register(engine, register.read_bytes(), filename=register.name, now=start)
    console.print(f"Sổ tài sản / asset register: {imported.assets} assets imported from {register}")
    # The commune staff account reports for the first simulated commune.
    logins = list(create_demo_users(engine, start, [fleet.communes[0].code]))
    driver = Driver(
        fleet,
        base_url=url,
        spool_dir=options.data_dir / "agent-spools",
        clock=clock,
        faults=resolved.faults,
        interval_seconds=options.interval_seconds,
        start=start,
        calendar=calendar,
    )
    return _Prepared(
        settings,
        engine,
        fleet,
        resolved,
        calendar,
        clock,
        clock_file,
        driver,
        logins,
        mail,
        overrides,
    )


async def _serve_and_run(
    options: DemoOptions, console: Console, stop: asyncio.Event, sock: socket.socket
) -> None:
    host, port = sock.getsockname()[:2]
    url = f"http://{host}:{port}"
    admin_token = secrets.token_urlsafe(18)
    from province.demo_mail import MAILDIR, MailSink

    mail = MailSink(options.data_dir / MAILDIR).start()
    try:
        prepared = _prepare(options, console, url, admin_token, mail)
    except BaseException:
        mail.stop()
        raise
    driver, engine = prepared.driver, prepared.engine
    try:
        driver.enrol(engine)
        if options.backfill_days > 0 and not stop.is_set():
            await _backfill(driver, options, console, stop, prepared.settings, engine)
        if not stop.is_set():
            await _live(prepared, options, console, stop, sock, admin_token)
    finally:
        console.print("Đang dừng / stopping…")
        await driver.aclose()
        engine.dispose()
        prepared.clock_file.close()
        mail.stop()


async def _live(
    prepared: _Prepared,
    options: DemoOptions,
    console: Console,
    stop: asyncio.Event,
    sock: socket.socket,
    admin_token: str,
) -> None:
    """Serve the collector (a child process on the simulated clock) while the fleet reports,
    until ``stop``."""
    from province.demo_collector import CollectorChild, CollectorRequest, CollectorStopped
    from sim.timeline import Pace, Pacer, StatusLine

    settings, clock, driver = prepared.settings, prepared.clock, prepared.driver
    request = CollectorRequest(
        settings=prepared.overrides,
        clock_file=str(prepared.clock_file.path),
        socket_fd=sock.fileno(),
        maildir=str(prepared.mail.maildir),
        mail_port=prepared.mail.port,
        log_file=str(options.data_dir / "demo.log"),
    )
    try:
        collector = await asyncio.to_thread(CollectorChild.start, request, sock)
    except CollectorStopped as exc:
        raise DemoError(str(exc)) from None
    try:
        resolved = prepared.resolved
        # Declared by an operator before the work, as a maintenance window on the store.
        resolved.declare_windows(prepared.engine, clock.now(), author="demo")
        driver.open_spools()
        codes = tuple(commune.code for commune in prepared.fleet.communes)
        pace = Pace(prepared.calendar, codes, resolved.faults, options.speed, options.quiet_speed)
        clock.set_speed(pace.speed_at(clock.now()))
        _announce(console, str(settings.public_url), admin_token, prepared, pace)
        await driver.run(
            stop,
            on_step=StatusLine(console.print, driver, resolved.faults),
            after_step=Pacer(pace, clock, driver.interval, collector.sweep),
        )
    except CollectorStopped as exc:
        raise DemoError(str(exc)) from None
    finally:
        await asyncio.to_thread(collector.stop)


async def _backfill(
    driver: Driver,
    options: DemoOptions,
    console: Console,
    stop: asyncio.Event,
    settings: Settings,
    engine: Engine,
) -> None:
    from agent.clock import SystemClock
    from sim.history import history_collector, processed, until_stopped

    end = driver.clock.now()  # held at the live run's start until the history is processed
    start = end - timedelta(days=options.backfill_days)
    begun = time.perf_counter()
    async with history_collector(settings, options.data_dir / "demo.log") as history_url:
        with _progress(
            console, len(driver.runtimes), f"Lịch sử / history, {options.backfill_days:g} days"
        ) as (progress, task):
            result = await until_stopped(
                driver.backfill(
                    start,
                    end,
                    step_seconds=options.backfill_step_minutes * 60,
                    progress=lambda done: progress.update(task, completed=done),
                    base_url=history_url,
                    # Those processes read the real clock: measured then, sent now.
                    sent_clock=SystemClock(),
                ),
                stop,
            )
        if result is None:
            return
        with _progress(console, 1, "Xử lý / processing") as (progress, task):

            def show(done: int, total: int) -> None:
                progress.update(task, total=total, completed=done)

            if await until_stopped(processed(engine, show), stop) is None:
                return
    _report_backfill(console, result, time.perf_counter() - begun)


def _report_backfill(console: Console, result: BackfillResult, seconds: float) -> None:
    console.print(
        f"Back-fill: {result.reports:,} reports ({result.samples:,} samples) stored and processed "
        f"in {seconds:.0f} s, {result.reports / max(seconds, 1e-9):,.0f} reports/s"
        + (f"; {len(result.failures)} refused" if result.failures else "")
    )


def _announce(
    console: Console, url: str, admin_token: str, prepared: _Prepared, pace: Pace
) -> None:
    from sim.timeline import timeline

    console.print()
    console.print(f"[bold]Bảng điều khiển / web console: {url}/web[/bold]")
    for user, password in prepared.logins:
        console.print(f"  {user.role.value:<8} {user.username:<12} mật khẩu / password: {password}")
    console.print(
        f"Hộp thư / mailbox: {url}/web/mailbox (what each owner receives; ticket e-mail goes to a "
        f"local sink on 127.0.0.1:{prepared.mail.port}, with working acknowledge links)"
    )
    console.print(f"Collector / máy thu: {url}")
    console.print(f"  /metrics (Prometheus), /docs (API), /readyz; admin token: {admin_token}")
    console.print(f"  curl -H 'Authorization: Bearer {admin_token}' {url}/api/v1/agents")
    resolved, start = prepared.resolved, prepared.clock.now()
    console.print(
        f"Kịch bản / scenario '{resolved.name}' from {_local(start)} (Asia/Ho_Chi_Minh), "
        f"×{pace.speed:g} while something happens, ×{max(pace.speed, pace.quiet_speed):g} "
        "when all is quiet; what will happen when:"
    )
    codes = [commune.code for commune in prepared.fleet.communes]
    for line in timeline(resolved, prepared.calendar, codes, start, pace):
        console.print(f"  {line}", markup=False)
    console.print("Ctrl-C để dừng / to stop.")


def run_demo(options: DemoOptions, console: Console | None = None) -> int:
    """Run the demo until SIGINT or SIGTERM; returns the process exit code."""
    from rich.console import Console

    console = console or Console()
    if options.speed <= 0 or options.quiet_speed <= 0:
        raise DemoError("--speed and --quiet-speed must be greater than 0")
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
        with logging_to(log_file):
            asyncio.run(main())
    finally:
        sock.close()
    console.print("Đã dừng / stopped.")
    return 0
