"""/metrics: a custom Prometheus collector over current state, plus the collector's own metrics.

Device samples become ``cm_device_<sample name>`` labelled province, commune_code, device_id and
kind (plus the sample's own labels); the time-series sink writes measurement ``cm_device`` with
the sample name as field, which VictoriaMetrics turns into the same series name.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import orjson
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from sqlalchemy import Connection, Engine, func, select

from agent.clock import Clock
from agent.wire import RESERVED_SAMPLE_NAMES
from collector.catalogue import MetricInfo
from collector.schema import agents, communes, device_state

_format_float = cast(Callable[[float], str], floatToGoString)
DEVICE_PREFIX = "cm_device_"
BASE_LABELS = ("province", "commune_code", "device_id", "kind")
DeviceKey = tuple[str, str]  # (commune code, device id)
_Version = tuple[datetime, int, str]  # measured_at, length of the samples, kind
_CHUNK = 500  # device ids per query of changed samples (SQLite allows 32,766 parameters)
# A scrape's time for rendering changed devices; Prometheus' own answer must stay well under a
# second (the target: 0.5 s for the whole scrape).
RENDER_BUDGET_SECONDS = 0.15


class StateCollector(Collector):
    """Reads current state from the store on every scrape; works with several worker processes."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        catalogue: dict[str, MetricInfo],
        heartbeat_seconds: float,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._catalogue = catalogue
        self._heartbeat = heartbeat_seconds
        self._provinces: dict[str, str] = {}

    def _province_of(self, commune_code: str) -> str:
        if commune_code not in self._provinces:
            with self._engine.connect() as conn:
                self._provinces = dict(
                    conn.execute(select(communes.c.code, communes.c.province_code)).all()
                )
        return self._provinces.get(commune_code, "")

    def describe(self) -> list[Metric]:
        # Returning nothing keeps registration from running a full collect().
        return []

    def collect(self) -> Iterator[Metric]:
        now = self._clock.now().timestamp()
        with self._engine.connect() as conn:
            agent_rows = conn.execute(
                select(
                    agents.c.id,
                    agents.c.commune_code,
                    agents.c.last_seen_at,
                    agents.c.last_measured_at,
                    agents.c.clock_skew_seconds,
                ).where(agents.c.revoked_at.is_(None))
            ).all()
        yield from self._agent_families(agent_rows, now)

    def _agent_families(self, rows: Sequence[Any], now: float) -> Iterator[Metric]:
        labels = ["province", "commune_code", "agent_id"]
        up = GaugeMetricFamily(
            "cm_agent_up",
            "1 if the agent reported within 1.5 heartbeat intervals, else 0.",
            labels=labels,
        )
        seen = GaugeMetricFamily(
            "cm_agent_last_seen_timestamp_seconds",
            "When the collector last received a batch from the agent (Unix time).",
            labels=labels,
        )
        skew = GaugeMetricFamily(
            "cm_agent_clock_skew_seconds",
            "Collector clock minus agent clock at the agent's last batch.",
            labels=labels,
        )
        for row in rows:
            values = [self._province_of(row.commune_code), row.commune_code, row.id]
            last = row.last_seen_at.timestamp() if row.last_seen_at else None
            fresh = last is not None and now - last <= 1.5 * self._heartbeat
            up.add_metric(values, 1.0 if fresh else 0.0)
            if last is not None:
                seen.add_metric(values, last)
            skew.add_metric(values, row.clock_skew_seconds)
        yield up
        yield seen
        yield skew


class PreparedText:
    """A collector's families as exposition text, formatted ahead of the scrapes.

    The agents' families (three lines per agent: 4,146 for a province's 1,382 agents) were
    most of the time a scrape spent in the collector's own registry; the background refresh
    formats them every few seconds (:meth:`refresh`) and a scrape takes that text while it is
    fresh (:meth:`latest`), as it does the devices' lines.
    """

    def __init__(self, collector: Collector) -> None:
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(collector)
        # (time.monotonic() when written, text), replaced whole: read without a lock.
        self._published: tuple[float, bytes] | None = None

    def render(self) -> bytes:
        """The families' text, now."""
        return generate_latest(self._registry)

    def refresh(self) -> None:
        """Format the families and keep the text for :meth:`latest`."""
        text = self.render()
        self._published = (time.monotonic(), text)

    def latest(self, max_age_seconds: float) -> bytes | None:
        """The text of the last :meth:`refresh` if it is at most ``max_age_seconds`` old."""
        return _fresh(self._published, max_age_seconds)

    def forget_text(self) -> None:
        """Serve no earlier text from :meth:`latest` (a refresh failed)."""
        self._published = None


def _fresh(published: tuple[float, bytes] | None, max_age_seconds: float) -> bytes | None:
    if published is None or time.monotonic() - published[0] > max_age_seconds:
        return None
    return published[1]


def _versions(rows: Sequence[Any]) -> dict[DeviceKey, _Version]:
    return {
        (row.commune_code, row.device_id): (row.measured_at, int(row.size), row.kind)
        for row in rows
    }


def _escape(value: str) -> str:
    # Text format 0.0.4: backslash, double quote and line feed are escaped in label values.
    if "\\" in value or '"' in value or "\n" in value:
        return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return value


@dataclass(slots=True)
class _DeviceText:
    """One device's rendered lines, kept until its state changes."""

    version: _Version
    last_report: str
    families: dict[str, str]  # sample name -> the device's lines of that family


@dataclass(frozen=True)
class _Snapshot:
    generation: int
    silent: set[DeviceKey]
    last_report: list[str]
    families: dict[str, str]


class DeviceExposition:
    """Renders every device's current samples in the Prometheus text format.

    This is the hot path of /metrics (5,000 devices x ~30 samples): measured, prometheus_client's
    generic sample formatting took 1.5 s of a 2.2 s scrape, so device lines are written here
    directly. Label names need no escaping (ingest restricts them to [a-z][a-z0-9_]*); values
    are escaped and numbers formatted by prometheus_client's own ``floatToGoString``.

    A device's lines are kept between scrapes and rendered again only when its state changed:
    an agent reports once a minute while Prometheus scrapes every 15 s, so most devices are
    unchanged at a scrape, and the decoding and formatting of their samples (most of a scrape's
    CPU) is not repeated. A scrape reads every device's version (``measured_at``, the length of
    its samples, its kind) and the samples of the changed ones only. ``measured_at`` alone would
    miss a replayed older report that adds a sample name (the merge keeps the newest time); the
    added name lengthens the samples. The kept lines are held by family, each device's lines of
    a family joined once: a scrape writes a family as one join over its devices.

    A scrape never spends more than ``render_budget_seconds`` rendering: when every agent of a
    province reports in the same minute, thousands of devices change at once, and rendering
    them all inside the scrape took it past half a second on a busy 2-core collector. Past the
    budget a changed device keeps its previous lines until it is rendered, and a device never
    rendered yet (first seen during the burst) appears at a later scrape; at least one chunk is
    rendered per scrape. :meth:`refresh`, run in the background by the service every few
    seconds, renders the changes ahead of the scrapes, a chunk at a time, and writes the text;
    while it runs, a scrape serves that text (:meth:`latest`) if it is recent enough, and reads
    nothing from the store: in a busy collector's process (the demo's, where the simulated fleet
    shares the process) the store read and the formatting competed with ingest for the GIL.
    """

    def __init__(
        self,
        engine: Engine,
        catalogue: dict[str, MetricInfo],
        clock: Clock | None = None,
        stale_seconds: float | None = None,
        render_budget_seconds: float = RENDER_BUDGET_SECONDS,
    ) -> None:
        self._engine = engine
        self._budget = render_budget_seconds
        self.chunk = _CHUNK  # devices rendered between two looks at the budget
        self._catalogue = catalogue
        self._clock = clock
        self._stale = stale_seconds
        self._provinces: dict[str, str] = {}
        self._devices: dict[DeviceKey, _DeviceText] = {}
        # The same lines by family, as a scrape writes them: a family's text is one join.
        self._families: dict[str, dict[DeviceKey, str]] = {}
        # Scrapes run in worker threads: one updates the kept lines at a time.
        self._lock = threading.Lock()
        # A province repeats few label sets (cores, volumes, probe targets x phases) over
        # thousands of devices: each is rendered once.
        self._label_text: dict[tuple[tuple[str, str], ...], str] = {}
        self.rendered_devices = 0  # devices rendered again, for tests and benchmarks
        self.deferred_devices = 0  # changed devices a scrape left to later (budget spent)
        # Changed devices still showing their previous lines after the last scrape or refresh.
        self.devices_behind = 0
        self._generation = 0  # counts the changes of the kept lines
        # The last text, with the generation and the silent devices it was written for: served
        # again while nothing changes.
        self._text: tuple[int, set[DeviceKey], bytes] | None = None
        # (time.monotonic() when it was last current, the text), replaced whole under the lock
        # and read without it: a scrape never waits for a refresh's chunk.
        self._published: tuple[float, bytes] | None = None

    def _province_of(self, commune_code: str) -> str:
        if commune_code not in self._provinces:
            with self._engine.connect() as conn:
                self._provinces = dict(
                    conn.execute(select(communes.c.code, communes.c.province_code)).all()
                )
        return self._provinces.get(commune_code, "")

    def _is_counter(self, name: str) -> bool:
        info = self._catalogue.get(name)
        # By Prometheus naming convention a "_total" name is a counter even if not catalogued.
        return info.type == "counter" if info is not None else name.endswith("_total")

    def render(self) -> bytes:
        """The text of every ``cm_device_*`` family, after rendering the devices whose state
        changed (within the render budget).

        The values of a device whose agent has been silent for more than ``stale_seconds``
        are left out (its ``last_report_timestamp_seconds`` stays): a scraper must see the
        series of a cut commune end, as for a target gone down, not its last values repeated
        for ever. Old reports replayed by an agent that is back are current state, and shown.
        """
        with self._lock:
            # The budget is the scrape's own time, whatever the clock of the state (the demo's runs
            # sixty times faster than the machine's).
            snapshot = self._snapshot(self._update(time.monotonic() + self._budget))
        return self._write(snapshot)

    def latest(self, max_age_seconds: float) -> bytes | None:
        """The text last written (by a scrape or :meth:`refresh`) if it is at most
        ``max_age_seconds`` old, else None."""
        return _fresh(self._published, max_age_seconds)

    def forget_text(self) -> None:
        """Serve no earlier text from :meth:`latest` (the store went away: a scrape must say so)."""
        with self._lock:
            self._published = None

    def _snapshot(self, heads: list[tuple[DeviceKey, datetime | None]]) -> _Snapshot | bytes:
        """What the text is written from, taken under the lock; the last text itself when
        nothing changed since it was written (a night, a weekend)."""
        oldest = (
            self._clock.now().timestamp() - self._stale
            if self._clock is not None and self._stale is not None
            else None
        )
        generation = self._generation
        silent = (
            {key for key, seen in heads if seen is None or seen.timestamp() < oldest}
            if oldest is not None
            else set()
        )
        kept = self._text
        if kept is not None and kept[0] == generation and kept[1] == silent:
            self._published = (time.monotonic(), kept[2])
            return kept[2]
        last_report = [self._devices[key].last_report for key, _seen in heads]
        families = {
            name: "\n".join(
                by_device.values()
                if not silent
                else (lines for key, lines in by_device.items() if key not in silent)
            )
            for name, by_device in self._families.items()
        }
        return _Snapshot(generation, silent, last_report, families)

    def _write(self, snapshot: _Snapshot | bytes) -> bytes:
        """The exposition text of a snapshot, kept as the last text."""
        if isinstance(snapshot, bytes):
            return snapshot
        out = [
            f"# HELP {DEVICE_PREFIX}last_report_timestamp_seconds Measurement time of the "
            "device's latest processed report (Unix time).",
            f"# TYPE {DEVICE_PREFIX}last_report_timestamp_seconds gauge",
            *snapshot.last_report,
        ]
        families = snapshot.families
        for name in sorted(families):
            if not families[name]:
                continue  # every device of the family is silent
            info = self._catalogue.get(name)
            help_text = info.help_en if info and info.help_en else f"Device sample {name}."
            help_text = help_text.replace("\\", "\\\\").replace("\n", "\\n")
            kind = "counter" if self._is_counter(name) else "gauge"
            out.append(f"# HELP {DEVICE_PREFIX}{name} {help_text}")
            out.append(f"# TYPE {DEVICE_PREFIX}{name} {kind}")
            out.append(families[name])
        text = ("\n".join(out) + "\n").encode()
        with self._lock:
            # A scrape and a refresh may write at once: the text of the older state is not kept.
            if self._text is None or snapshot.generation >= self._text[0]:
                self._text = (snapshot.generation, snapshot.silent, text)
                self._published = (time.monotonic(), text)
        return text

    def _keep(self, key: DeviceKey, text: _DeviceText | None) -> None:
        """Replace (or, with None, forget) a device's kept lines."""
        self._generation += 1
        old = self._devices.pop(key, None)
        if old is not None:
            for name in old.families:
                by_device = self._families[name]
                del by_device[key]
                if not by_device:
                    del self._families[name]
        if text is not None:
            self._devices[key] = text
            for name, lines in text.families.items():
                self._families.setdefault(name, {})[key] = lines

    def refresh(self) -> int:
        """Render the devices whose state changed, ahead of the next scrape; returns how many
        it rendered (a scrape meanwhile may have rendered some of them).

        The lock is held for one chunk at a time, so a scrape waits for one chunk at most.
        """
        rendered = 0
        with self._engine.connect() as conn:
            rows = self._read_heads(conn)
            versions = _versions(rows)
            with self._lock:
                changed = self._changed(versions)
            for first in range(0, len(changed), self.chunk):
                with self._lock:
                    rendered += self._render_chunk(
                        conn, self._changed(versions, changed[first : first + self.chunk]), versions
                    )
            with self._lock:
                self.devices_behind = 0
                snapshot = self._snapshot(self._settle(rows, versions))
        self._write(snapshot)
        return rendered

    def _update(self, deadline: float) -> list[tuple[DeviceKey, datetime | None]]:
        """Render again the devices whose state changed (until ``deadline``, one chunk at
        least), forget the ones gone; every kept device's key and its agent's last batch, in
        the store's order."""
        with self._engine.connect() as conn:
            rows = self._read_heads(conn)
            versions = _versions(rows)
            changed = self._changed(versions)
            for first in range(0, len(changed), self.chunk):
                if first and time.monotonic() >= deadline:
                    self.deferred_devices += len(changed) - first
                    self.devices_behind = len(changed) - first
                    break
                self._render_chunk(conn, changed[first : first + self.chunk], versions)
            else:
                self.devices_behind = 0
        return self._settle(rows, versions)

    def _settle(
        self, rows: Sequence[Any], versions: dict[DeviceKey, _Version]
    ) -> list[tuple[DeviceKey, datetime | None]]:
        """Forget the devices gone from the store; every kept device's key and its agent's last
        batch, in the store's order."""
        for key in self._devices.keys() - versions.keys():
            self._keep(key, None)
        # A device changed between the two reads keeps its previous lines until next scrape.
        return [
            ((row.commune_code, row.device_id), row.last_seen_at)
            for row in rows
            if (row.commune_code, row.device_id) in self._devices
        ]

    @staticmethod
    def _read_heads(conn: Connection) -> Sequence[Any]:
        """Every device's version (measured_at, length of its samples, kind) and its agent's
        last batch."""
        return conn.execute(
            select(
                device_state.c.commune_code,
                device_state.c.device_id,
                device_state.c.kind,
                device_state.c.measured_at,
                func.length(device_state.c.samples).label("size"),
                agents.c.last_seen_at,
            ).outerjoin(agents, agents.c.id == device_state.c.agent_id)
        ).all()

    def _changed(
        self, versions: dict[DeviceKey, _Version], keys: Iterable[DeviceKey] | None = None
    ) -> list[DeviceKey]:
        """Of ``keys`` (every device), those whose kept lines are missing or of another version."""
        return [
            key
            for key in (versions if keys is None else keys)
            if (kept := self._devices.get(key)) is None or kept.version != versions[key]
        ]

    def _render_chunk(
        self, conn: Connection, chunk: Sequence[DeviceKey], versions: dict[DeviceKey, _Version]
    ) -> int:
        """Render ``chunk``'s devices again; returns how many."""
        if not chunk:
            return 0
        wanted = set(chunk)
        found = conn.execute(
            select(
                device_state.c.commune_code,
                device_state.c.device_id,
                device_state.c.kind,
                device_state.c.measured_at,
                device_state.c.samples,
            ).where(device_state.c.device_id.in_({device_id for _, device_id in chunk}))
        )
        for row in found:
            key = (row.commune_code, row.device_id)
            if key in wanted:
                self._keep(key, self._render_device(row, versions[key]))
        self.rendered_devices += len(chunk)
        return len(chunk)

    def _render_device(self, row: Any, version: _Version) -> _DeviceText:
        base = (
            f'province="{self._province_of(row.commune_code)}",'
            f'commune_code="{row.commune_code}",device_id="{_escape(row.device_id)}",'
            f'kind="{row.kind}"'
        )
        last_report = (
            f"{DEVICE_PREFIX}last_report_timestamp_seconds{{{base}}} "
            f"{_format_float(row.measured_at.timestamp())}"
        )
        lines: dict[str, list[str]] = {}
        seen: set[str] = set()
        for name, labels, value, *_measured in orjson.loads(row.samples):
            if name in RESERVED_SAMPLE_NAMES:
                # Refused at ingest now; a state stored before that would repeat a family.
                continue
            if labels:
                key = tuple(labels.items())
                extra = self._label_text.get(key)
                if extra is None:
                    extra = self._label_text[key] = "".join(f',{k}="{_escape(v)}"' for k, v in key)
            else:
                extra = ""
            series = f"{DEVICE_PREFIX}{name}{{{base}{extra}}}"
            if series in seen:
                continue  # a repeated label set within one device keeps the first value
            seen.add(series)
            # Ingest refuses NaN and infinities, so repr() is a valid sample value.
            lines.setdefault(name, []).append(f"{series} {float(value)!r}")
        families = {name: "\n".join(text) for name, text in lines.items()}
        return _DeviceText(version, last_report, families)


class ExpositionProbe(Collector):
    """How far the kept device lines lag behind the state, so that an operator sees a
    collector whose scrapes keep leaving devices for later (their values shown are old)."""

    def __init__(self, devices: DeviceExposition) -> None:
        self._devices = devices

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "cm_exposition_devices_behind",
            "Devices whose state changed but whose lines on /metrics still show earlier values, "
            "after the last scrape or background refresh (the scrape's render budget was spent).",
            value=self._devices.devices_behind,
        )
        yield CounterMetricFamily(
            "cm_exposition_deferred_devices",
            "Changed devices a scrape left to a later scrape or refresh, its render budget spent.",
            value=self._devices.deferred_devices,
        )
