"""Where the measured signals of a ranking or plan came from, so that every output can say so.

The store's daily rollups (``inventory.rollups``) are the normal source. A store upgraded to them
holds none until the processor has consumed a report or ``commune-monitor inventory rollups
rebuild`` has run; until then the ranking falls back to the old scan of the journal, which is
slow and covers only the journal's retention, and says so.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from inventory.tables import Lang

REBUILD_COMMAND = "commune-monitor inventory rollups rebuild"


class SignalSource(StrEnum):
    """``rollups``: the daily rollups; ``journal``: a sampled scan of the journal (fallback)."""

    ROLLUPS = "rollups"
    JOURNAL = "journal"


class Measurements(BaseModel):
    """The source of saturation and failures, the days of saturation read, and the first of
    those days that holds any rollup (measurements start there: the rollups began then)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: SignalSource
    saturation_days: float
    since: date | None = None

    def note(self, lang: Lang = "vi") -> str:
        """One line for a report's reader."""
        days = f"{self.saturation_days:g}"
        if self.source is SignalSource.JOURNAL:
            if lang == "vi":
                return (
                    "Chưa có số liệu tổng hợp theo ngày: mức quá tải lấy từ nhật ký báo cáo "
                    f"{days} ngày gần nhất (chậm). Chạy '{REBUILD_COMMAND}'."
                )
            return (
                f"No daily rollups yet: saturation read from the journal's last {days} days "
                f"(slow). Run '{REBUILD_COMMAND}'."
            )
        since = f" (từ {self.since:%d/%m/%Y})" if self.since and lang == "vi" else ""
        if lang == "vi":
            return (
                f"Mức quá tải: p95 của {days} ngày gần nhất{since}; hỏng hóc: 12 tháng, "
                "từ số liệu tổng hợp theo ngày."
            )
        since = f" (since {self.since:%d/%m/%Y})" if self.since else ""
        return (
            f"Saturation: p95 over the last {days} days{since}; failures: 12 months; "
            "from the daily rollups."
        )
