"""Where a ranking's measured signals came from (inventory/measurements.py): the note a report's
reader sees, in both languages, for the daily rollups and for the journal fallback."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from inventory.measurements import REBUILD_COMMAND, Measurements, SignalSource


def test_the_journal_fallback_says_how_to_rebuild() -> None:
    scanned = Measurements(source=SignalSource.JOURNAL, saturation_days=7.0)
    assert scanned.note("vi") == (
        "Chưa có số liệu tổng hợp theo ngày: mức quá tải lấy từ nhật ký báo cáo 7 ngày gần "
        f"nhất (chậm). Chạy '{REBUILD_COMMAND}'."
    )
    assert scanned.note("en") == (
        "No daily rollups yet: saturation read from the journal's last 7 days (slow). "
        f"Run '{REBUILD_COMMAND}'."
    )
    assert scanned.note() == scanned.note("vi")


def test_the_rollups_note_says_the_window_and_since_when() -> None:
    rolled = Measurements(source="rollups", saturation_days=30, since=date(2026, 3, 4))
    assert rolled.source is SignalSource.ROLLUPS
    assert rolled.note("vi") == (
        "Mức quá tải: p95 của 30 ngày gần nhất (từ 04/03/2026); hỏng hóc: 12 tháng, "
        "từ số liệu tổng hợp theo ngày."
    )
    assert rolled.note("en") == (
        "Saturation: p95 over the last 30 days (since 04/03/2026); failures: 12 months; "
        "from the daily rollups."
    )
    fractional = Measurements(source=SignalSource.ROLLUPS, saturation_days=1.5)
    assert "last 1.5 days;" in fractional.note("en")
    assert "(từ" not in fractional.note("vi")


def test_measurements_are_frozen_and_closed() -> None:
    rolled = Measurements(source=SignalSource.ROLLUPS, saturation_days=7)
    with pytest.raises(ValidationError):
        rolled.saturation_days = 8  # type: ignore[misc]
    with pytest.raises(ValidationError):
        Measurements(source="guess", saturation_days=7)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Measurements(source=SignalSource.ROLLUPS, saturation_days=7, extra=1)  # type: ignore[call-arg]
    assert rolled.model_dump(mode="json") == {
        "source": "rollups",
        "saturation_days": 7.0,
        "since": None,
    }
