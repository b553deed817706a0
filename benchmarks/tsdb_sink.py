"""Time-series sink benchmark: samples/s written through the collector's InfluxSink (format,
compressed fsynced backlog segment, batched send) into a real VictoriaMetrics, against the same
points written directly with influxdb-client's batching WriteApi (the reference).

    python benchmarks/tsdb_sink.py [--samples 600000] [--batch 5000] [--seconds 120]

Prints, for each path, samples/s end to end (until VictoriaMetrics accepted the last batch)
and the ratio sink/reference; for the sink also the processor-side cost alone (consume(): what
the sink adds to each journal step) in samples/s and µs per sample, and the disk VictoriaMetrics
used per sample after a forced merge. Each path writes to its own fresh VictoriaMetrics on
127.0.0.1, stopped by its PID; every point is counted back before a figure is printed.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from prometheus_client import CollectorRegistry  # noqa: E402

from collector import communes  # noqa: E402
from collector.communes import BUNDLED_UNITS  # noqa: E402
from collector.db import make_engine  # noqa: E402
from collector.influx_sink import InfluxSink, InfluxWriter  # noqa: E402
from collector.line_protocol import format_report  # noqa: E402
from collector.processor import StoredReport  # noqa: E402
from collector.settings import load_settings  # noqa: E402
from collector.sink_backlog import Backlog  # noqa: E402
from province import migrate  # noqa: E402
from tests.dashboards.province import commune_reports  # noqa: E402
from tests.tsdb import VictoriaMetrics  # noqa: E402

PROVINCE = "37"
STEP_SECONDS = 60.0
JOURNAL_STEP = 200  # reports the processor hands the sink at once (its default batch)


def make_reports(codes: list[str], samples: int, end: datetime) -> list[StoredReport]:
    """Reports of the simulated province (~71 samples each) until ``samples`` are reached."""
    (probe,) = commune_reports(codes[0], end, 1, STEP_SECONDS)
    per_report = sum(len(d["samples"]) for d in probe["devices"])
    per_commune = max(1, -(-samples // (len(codes) * per_report)))
    start = end - timedelta(seconds=STEP_SECONDS * per_commune)
    out: list[StoredReport] = []
    total = 0
    for code in codes:
        for raw in commune_reports(code, start, per_commune, STEP_SECONDS, slow=False):
            out.append(
                StoredReport(
                    journal_id=len(out) + 1,
                    agent_id=f"ag-{code}",
                    commune_code=code,
                    seq=raw["seq"],
                    measured_at=datetime.fromisoformat(raw["measured_at"]),
                    data={"devices": raw["devices"]},
                )
            )
            total += sum(len(d["samples"]) for d in raw["devices"])
            if total >= samples:
                return out
    return out


@contextmanager
def victoria(workdir: Path, name: str) -> Iterator[VictoriaMetrics]:
    vm = VictoriaMetrics(workdir / name / "data").start()
    try:
        yield vm
    finally:
        vm.stop()


def count_points(vm: VictoriaMetrics, reports: list[StoredReport]) -> int:
    start = min(r.measured_at for r in reports)
    end = max(r.measured_at for r in reports)
    window = int((end - start).total_seconds()) + 120
    result = vm.query(
        f'sum(count_over_time({{__name__=~"cm_device_.+"}}[{window}s]))',
        at=end.timestamp() + 60,
    )
    return int(float(result[0]["value"][1])) if result else 0


def disk_bytes_per_sample(vm: VictoriaMetrics, points: int) -> float:
    httpx.get(f"{vm.url}/internal/force_merge", timeout=120).raise_for_status()
    vm.stop()  # flushes everything to parts; then measure what is on disk
    size = sum(p.stat().st_size for p in vm.data_dir.rglob("*") if p.is_file())
    return size / points


def run_sink(
    workdir: Path, reports: list[StoredReport], batch: int, deadline: float
) -> tuple[float, float, int, float]:
    """(end-to-end seconds, consume-only seconds, points counted, disk bytes per sample)."""
    settings = load_settings(data_dir=workdir, database_url=f"sqlite:///{workdir / 'store.db'}")
    engine = make_engine(settings)
    migrate.upgrade(engine)
    communes.load_units(engine, communes.read_units(BUNDLED_UNITS, PROVINCE))
    with victoria(workdir, "vm-sink") as vm:
        sink = InfluxSink(
            InfluxWriter(vm.url, "token", "org", "bucket"),
            Backlog(workdir / "backlog", 8 << 30),
            CollectorRegistry(),
            batch_size=batch,
        )
        consume_seconds = 0.0
        begun = time.perf_counter()
        with engine.connect() as conn:
            for first in range(0, len(reports), JOURNAL_STEP):
                if time.monotonic() > deadline:
                    raise SystemExit("sink path exceeded --seconds; lower --samples")
                step = time.perf_counter()
                sink.consume(conn, reports[first : first + JOURNAL_STEP])
                consume_seconds += time.perf_counter() - step
                # The sender drains while the processor goes on, as the background thread does.
                while sink.backlog.samples >= batch:
                    sink.flush_once()
        sink.flush()
        elapsed = time.perf_counter() - begun
        sink.stop()
        counted = count_points(vm, reports)
        per_sample = disk_bytes_per_sample(vm, counted)
    engine.dispose()
    return elapsed, consume_seconds, counted, per_sample


def run_reference(
    workdir: Path, lines: list[str], reports: list[StoredReport], batch: int
) -> tuple[float, int]:
    """influxdb-client's own batching WriteApi with the same points: (seconds, points counted)."""
    from influxdb_client.client.influxdb_client import InfluxDBClient
    from influxdb_client.client.write_api import WriteOptions
    from influxdb_client.domain.write_precision import WritePrecision

    with victoria(workdir, "vm-reference") as vm:
        client = InfluxDBClient(url=vm.url, token="token", org="org", timeout=30_000)
        api = client.write_api(
            write_options=WriteOptions(batch_size=batch, flush_interval=1_000, max_retries=3)
        )
        begun = time.perf_counter()
        for first in range(0, len(lines), batch):
            api.write(
                bucket="bucket",
                record=lines[first : first + batch],
                write_precision=cast(WritePrecision, WritePrecision.MS),
            )
        api.close()  # type: ignore[no-untyped-call]  # waits until every batch is sent
        elapsed = time.perf_counter() - begun
        client.close()  # type: ignore[no-untyped-call]
        counted = count_points(vm, reports)
    return elapsed, counted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=600_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=120.0, help="upper bound per path")
    args = parser.parse_args()
    if shutil.which("victoria-metrics") is None:
        raise SystemExit("needs the Debian package victoria-metrics")

    workdir = Path(tempfile.mkdtemp(prefix="tsdb-sink-bench-"))
    try:
        # Real commune codes of province 37, so the sink finds their province label.
        rows = communes.read_units(BUNDLED_UNITS, PROVINCE)
        codes = sorted(row["commune_code"] for row in rows)[:50]
        end = datetime.now(UTC).replace(microsecond=0)
        reports = make_reports(codes, args.samples, end)
        lines = [line for r in reports for line in format_report(r, PROVINCE)]
        points = len(lines)
        print(
            f"{len(reports)} reports, {points} samples, {len(codes)} communes, batch {args.batch}"
        )

        deadline = time.monotonic() + args.seconds
        sink_s, consume_s, sink_count, bytes_per_sample = run_sink(
            workdir / "sink", reports, args.batch, deadline
        )
        assert sink_count == points, (sink_count, points)
        ref_s, ref_count = run_reference(workdir / "ref", lines, reports, args.batch)
        assert ref_count == points, (ref_count, points)

        sink_rate, ref_rate = points / sink_s, points / ref_s
        print(
            f"sink (format + backlog + batched send): {sink_rate:,.0f} samples/s ({sink_s:.2f} s)"
        )
        print(
            f"  of which processor-side consume():     {points / consume_s:,.0f} samples/s "
            f"({1e6 * consume_s / points:.2f} µs/sample)"
        )
        print(
            f"reference, influxdb-client batching WriteApi: {ref_rate:,.0f} samples/s "
            f"({ref_s:.2f} s)"
        )
        print(f"ratio sink/reference: {sink_rate / ref_rate:.2f}")
        print(f"VictoriaMetrics disk after merge: {bytes_per_sample:.2f} bytes/sample")
        print(f"every point counted back in VictoriaMetrics: {sink_count} and {ref_count}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
