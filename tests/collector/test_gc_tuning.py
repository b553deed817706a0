"""The collector's garbage-collector settings: paused while a batch is decoded, always restored."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from collector.errors import ReportRejected
from collector.gc_tuning import YOUNG_THRESHOLD, gc_paused, tuned_gc
from collector.ingest import parse_batch


@pytest.fixture(autouse=True)
def _collection_enabled() -> Iterator[None]:
    gc.enable()
    yield
    gc.enable()


def test_paused_inside_and_enabled_after() -> None:
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_restored_when_the_work_raises() -> None:
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("decode failed")
    assert gc.isenabled()


def test_an_inner_pause_leaves_the_outer_one_in_force() -> None:
    with gc_paused():
        with gc_paused():
            assert not gc.isenabled()
        # The inner caller found collection off, so it must not turn it on under the outer one.
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_rejected_body_leaves_collection_enabled() -> None:
    with pytest.raises(ReportRejected) as caught:
        parse_batch(b'{"schema_version": 1, "agent_id": "a", "sent_at": "x", "reports": []}')
    assert caught.value.field.startswith("sent_at")
    assert gc.isenabled()


def test_tuned_gc_raises_the_young_threshold_and_undoes_it() -> None:
    before = gc.get_threshold()
    with tuned_gc():
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
