"""The time-series sink: line protocol, durable backlog, and real VictoriaMetrics on loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from collector.influx_sink import InfluxSink, InfluxWriter, SinkWriteError
from collector.processor import StoredReport
from collector.settings import Settings
from collector.sink_backlog import Backlog
from province.service import ProvinceService, build_service
from tests.dashboards.province import commune_codes, commune_reports, enrol, expected_points, ingest
from tests.tsdb import VictoriaMetrics


@pytest.fixture
def victoria(tmp_path: Path) -> Iterator[VictoriaMetrics]:
    """A VictoriaMetrics on a free loopback port, stopped by PID afterwards."""
    vm = VictoriaMetrics(tmp_path / "vm").start()
    try:
        yield vm
    finally:
        vm.stop()


def _sink(url: str, tmp_path: Path, registry: CollectorRegistry, **kwargs) -> InfluxSink:
    return InfluxSink(
        InfluxWriter(url, "token", "org", "bucket", timeout_seconds=5),
        Backlog(tmp_path / "backlog", kwargs.pop("max_bytes", 1 << 30)),
        registry,
        **kwargs,
    )


def _service(
    settings: Settings, engine: Engine, sink: InfluxSink, registry: CollectorRegistry
) -> ProvinceService:
    # The sink's metrics live in the service's registry, as in build_service.
    return build_service(settings, registry=registry, engine=engine, consumers=[sink])


def _exported(
    vm: VictoriaMetrics, commune: str
) -> dict[tuple[str, tuple[tuple[str, str], ...]], list[tuple[int, float]]]:
    out = {}
    for series in vm.export(f'{{__name__=~"cm_device_.+",commune_code="{commune}"}}'):
        labels = dict(series["metric"])
        name = labels.pop("__name__")
        assert labels.pop("commune_code") == commune
        assert labels.pop("province") == "37"
        out[(name, tuple(sorted(labels.items())))] = sorted(
            zip(series["timestamps"], series["values"], strict=True)
        )
    return out


# -- backlog bounds and rejected batches -------------------------------------------------------


class _Writer:
    """A LineWriter double that records batches or fails as told."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.fail: SinkWriteError | None = None

    def write(self, lines: Sequence[str]) -> None:
        if self.fail is not None:
            raise self.fail
        self.batches.append(list(lines))

    def close(self) -> None:
        pass


def _report(n_samples: int, seq: int = 1) -> StoredReport:
    return StoredReport(
        journal_id=seq,
        agent_id="ag",
        commune_code="1",
        seq=seq,
        measured_at=datetime(2026, 3, 1, tzinfo=UTC) + timedelta(seconds=seq),
        data={
            "devices": [
                {
                    "device_id": "d",
                    "kind": "pc",
                    "samples": [{"name": f"s{i}", "value": float(i)} for i in range(n_samples)],
                }
            ]
        },
    )


class _Conn:
    """Stands in for the processor's connection: the province map is pre-filled below."""


def _offline_sink(
    tmp_path: Path, writer: _Writer, max_bytes: int = 1 << 30, batch_size: int = 7
) -> InfluxSink:
    sink = InfluxSink(
        writer, Backlog(tmp_path / "b", max_bytes), CollectorRegistry(), batch_size=batch_size
    )
    sink._provinces["1"] = "37"
    return sink


def test_full_backlog_drops_new_points_and_counts_them(tmp_path: Path) -> None:
    writer = _Writer()
    sink = _offline_sink(tmp_path, writer, max_bytes=2048)
    stored = 0
    for seq in range(1, 200):
        sink.consume(_Conn(), [_report(20, seq)])  # type: ignore[arg-type]
        stored = int(sink.backlog.samples)
    dropped = sink.metrics.dropped.labels("backlog_full")._value.get()
    assert sink.backlog.size_bytes <= 2048
    assert dropped > 0
    assert stored + dropped == 199 * 20
    # Draining makes room again; what was kept is the oldest, contiguous from the start.
    sink.flush()
    assert writer.batches[0][0].endswith(str(round(_report(1, 1).measured_at.timestamp() * 1000)))
    sink.consume(_Conn(), [_report(20, 500)])  # type: ignore[arg-type]
    assert sink.backlog.samples == 20


def test_batch_failing_halfway_is_not_resent_from_the_start(tmp_path: Path) -> None:
    writer = _Writer()
    sink = _offline_sink(tmp_path, writer, batch_size=7)
    sink.consume(_Conn(), [_report(10)])  # type: ignore[arg-type]
    assert sink.flush_once() == 7
    writer.fail = SinkWriteError("down", status=None, retry=True)
    with pytest.raises(SinkWriteError):
        sink.flush_once()
    writer.fail = None
    assert sink.flush() == 3
    sent = [line for batch in writer.batches for line in batch]
    assert len(sent) == len(set(sent)) == 10
    assert sink.backlog.samples == 0
    assert list((tmp_path / "b").iterdir()) == []


def test_rejected_batch_is_dropped_and_counted_not_retried_forever(tmp_path: Path) -> None:
    writer = _Writer()
    sink = _offline_sink(tmp_path, writer, batch_size=100)
    sink.consume(_Conn(), [_report(5)])  # type: ignore[arg-type]
    writer.fail = SinkWriteError("bad line", status=400, retry=False)
    assert sink.flush_once() == 5
    assert sink.backlog.samples == 0
    assert sink.metrics.dropped.labels("rejected")._value.get() == 5
    assert sink.metrics.write_errors.labels("rejected")._value.get() == 1


def test_backlog_survives_a_restart(tmp_path: Path) -> None:
    writer = _Writer()
    sink = _offline_sink(tmp_path, writer)
    sink.consume(_Conn(), [_report(4, 1), _report(4, 2)])  # type: ignore[arg-type]
    sink.consume(_Conn(), [_report(4, 3)])  # type: ignore[arg-type]
    again = _offline_sink(tmp_path, writer)
    assert again.backlog.samples == 12
    assert again.metrics.backlog_samples._value.get() == 12
    assert again.flush() == 12


# -- against VictoriaMetrics -------------------------------------------------------------------


def test_sink_writes_equal_ingested_values_and_times_including_a_replay(
    engine: Engine, settings: Settings, tmp_path: Path, victoria: VictoriaMetrics
) -> None:
    registry = CollectorRegistry()
    sink = _sink(victoria.url, tmp_path, registry, batch_size=2000)
    service = _service(settings, engine, sink, registry)
    now = datetime.now(UTC).replace(microsecond=0)
    (commune,) = commune_codes(engine, 1)
    agent = enrol(engine, commune, now)
    live = commune_reports(commune, now - timedelta(minutes=30), 20, 60.0)
    ingest(engine, agent, live, now)
    service.processor.drain()
    # An agent cut off for three days replays its spool: the points land at their real times.
    replayed = commune_reports(commune, now - timedelta(days=3), 5, 60.0, seed=1)
    for i, report in enumerate(replayed):
        report["seq"] = 100 + i
    ingest(engine, agent, replayed, now)
    service.processor.drain()
    written = sink.flush()

    expected = expected_points(live)
    for key, points in expected_points(replayed).items():
        expected.setdefault(key, []).extend(points)
    expected = {key: sorted(points) for key, points in expected.items()}
    assert written == sum(len(p) for p in expected.values())
    assert _exported(victoria, commune) == expected
    assert sink.metrics.written._value.get() == written
    assert sink.metrics.last_success._value.get() > 0


def test_sink_series_are_the_series_of_metrics_endpoint(
    engine: Engine, settings: Settings, tmp_path: Path, victoria: VictoriaMetrics
) -> None:
    registry = CollectorRegistry()
    sink = _sink(victoria.url, tmp_path, registry)
    service = _service(settings, engine, sink, registry)
    now = datetime.now(UTC).replace(microsecond=0)
    (commune,) = commune_codes(engine, 1)
    ingest(
        engine,
        enrol(engine, commune, now),
        commune_reports(commune, now - timedelta(minutes=2), 1, 60.0),
        now,
    )
    service.processor.drain()
    sink.flush()
    exposed = set()
    for line in service.exposition().decode().splitlines():
        if line.startswith("cm_device_") and not line.startswith("cm_device_last_report"):
            series = line.rsplit(" ", 1)[0]
            name, _, rest = series.partition("{")
            labels = tuple(sorted(tuple(p.split("=", 1)) for p in rest.rstrip("}").split(",")))
            exposed.add((name, tuple((k, v.strip('"')) for k, v in labels)))
    stored = {
        (
            s["metric"]["__name__"],
            tuple(sorted((k, v) for k, v in s["metric"].items() if k != "__name__")),
        )
        for s in victoria.export('{__name__=~"cm_device_.+"}')
    }
    assert len(stored) > 50
    assert stored == exposed


def test_outage_of_the_database_loses_no_sample(
    engine: Engine, settings: Settings, tmp_path: Path, victoria: VictoriaMetrics
) -> None:
    registry = CollectorRegistry()
    sink = _sink(victoria.url, tmp_path, registry, batch_size=1000)
    service = _service(settings, engine, sink, registry)
    now = datetime.now(UTC).replace(microsecond=0)
    (commune,) = commune_codes(engine, 1)
    agent = enrol(engine, commune, now)
    before = commune_reports(commune, now - timedelta(minutes=40), 10, 60.0)
    ingest(engine, agent, before, now)
    service.processor.drain()
    sink.flush()

    victoria.stop()
    during = commune_reports(commune, now - timedelta(minutes=30), 20, 60.0, seed=2)
    for i, report in enumerate(during):
        report["seq"] = 50 + i
    ingest(engine, agent, during, now)
    started = time.perf_counter()
    service.processor.drain()
    # The processor did not wait for the absent database: it only wrote the local backlog.
    assert time.perf_counter() - started < 5
    with pytest.raises(SinkWriteError):
        sink.flush_once()
    pending = sink.backlog.samples
    assert pending == sum(len(p) for p in expected_points(during).values())
    text = service.exposition().decode()
    assert f"cm_tsdb_sink_backlog_samples {float(pending)}" in text
    assert 'cm_tsdb_sink_write_errors_total{reason="unreachable"} 1.0' in text

    victoria.start()
    sink.flush()
    assert sink.backlog.samples == 0
    expected = expected_points(before)
    for key, points in expected_points(during).items():
        expected[key].extend(points)
    assert _exported(victoria, commune) == {k: sorted(v) for k, v in expected.items()}


async def test_running_service_sends_in_the_background(
    engine: Engine, settings: Settings, tmp_path: Path, victoria: VictoriaMetrics
) -> None:
    configured = settings.model_copy(
        update={
            "influx_url": victoria.url,
            "influx_flush_interval_seconds": 0.1,
            "data_dir": tmp_path,
        }
    )
    service = build_service(configured, registry=CollectorRegistry(), engine=engine)
    assert service.sink is not None
    now = datetime.now(UTC).replace(microsecond=0)
    (commune,) = commune_codes(engine, 1)
    reports = commune_reports(commune, now - timedelta(minutes=5), 3, 60.0)
    async with service.running():
        await asyncio.to_thread(ingest, engine, enrol(engine, commune, now), reports, now)
        service.writer.committed.set()
        want = sum(len(p) for p in expected_points(reports).values())
        deadline = time.monotonic() + 30
        while service.sink.metrics.written._value.get() < want and time.monotonic() < deadline:  # noqa: ASYNC110 - polls a real thread and a real database
            await asyncio.sleep(0.05)
    assert (tmp_path / "tsdb-backlog").is_dir()
    assert _exported(victoria, commune) == {
        k: sorted(v) for k, v in expected_points(reports).items()
    }
