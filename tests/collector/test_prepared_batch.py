"""A validated batch reduced for the journal: nothing of the models kept, nothing of them lost."""

from __future__ import annotations

import gc
import json
import zlib
from datetime import UTC, datetime

from agent.wire import Report, ReportBatch
from collector.ingest import prepare_batch
from tests.collector.builders import batch, pc_device, snmp_device

START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
PC_SAMPLES = len(pc_device("pc-1")["samples"])


def _validated(seqs: list[int]) -> ReportBatch:
    devices = [pc_device("pc-1"), snmp_device("printer-1", n_samples=7)]
    body = batch("ag_prepared0001", seqs, START, devices=devices, oldest_unacked_seq=seqs[0])
    return ReportBatch.model_validate_json(json.dumps(body))


def _reachable_containers(root: object) -> list[object]:
    """Every object reachable from ``root`` that the cyclic collector tracks (classes aside)."""
    seen: dict[int, object] = {}
    todo = [root]
    while todo:
        item = todo.pop()
        if id(item) in seen or isinstance(item, type):
            continue
        if item is not root and not gc.is_tracked(item):
            continue
        seen[id(item)] = item
        todo.extend(gc.get_referents(item))
    return [item for item in seen.values() if item is not root]


def test_each_report_keeps_its_number_time_samples_and_payload() -> None:
    validated = _validated([4, 5, 6])
    prepared = prepare_batch(validated)
    assert prepared.agent_id == "ag_prepared0001"
    assert prepared.sent_at == validated.sent_at
    assert prepared.oldest_unacked_seq == 4
    assert [r.seq for r in prepared.reports] == [4, 5, 6]
    for kept, original in zip(prepared.reports, validated.reports, strict=True):
        assert kept.measured_at == original.measured_at
        assert kept.samples == sum(len(d.samples) for d in original.devices) == PC_SAMPLES + 7
        assert Report.model_validate_json(zlib.decompress(kept.payload)) == original


def test_no_model_object_survives_in_the_prepared_batch() -> None:
    # What makes the reduction worth it: what stays alive until the commit is a handful of
    # containers, however many samples the batch had, so collections have nothing to walk.
    prepared = prepare_batch(_validated(list(range(1, 41))))
    containers = _reachable_containers(prepared)
    assert all(isinstance(c, tuple) for c in containers), {type(c) for c in containers}
    # The tuple of reports, at most one tuple per report, and one flat tuple of atoms for each
    # report that grows the device state (the budgets' count: here the first report only).
    growing = sum(1 for r in prepared.reports if r.flat_growth)
    assert growing == 1
    assert len(containers) <= 1 + len(prepared.reports) + growing
