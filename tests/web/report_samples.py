"""A hand-made official report (alerts.official_report) whose every figure is known, for the
tests of its tables and files (web/report_tables.py, web/report_files.py, web/report_pdf.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alerts.official_report import (
    ClassFigures,
    CommuneFigures,
    OfficialReport,
    OwnerFigures,
    ProvinceFigures,
    SlaCount,
)
from alerts.report_period import Period

MARCH = Period("month", 2026, 3)
# 09:00 on 2 April in Hà Nội: March is over.
AFTER_MARCH = datetime(2026, 4, 2, 2, 0, tzinfo=UTC)
# 15:00 on 10 March in Hà Nội: March still running.
IN_MARCH = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)

YEN_MO = CommuneFigures(
    code="14134",
    name="Xã Yên Mô",
    province_code="37",
    open_time=timedelta(hours=176),
    down_time=timedelta(hours=1, minutes=30),
    availability=1 - 1.5 / 176,
    outages=2,
    incidents=5,
    tickets=3,
)
PHU_LY = CommuneFigures(
    code="13285",
    name="Phường Phủ Lý",
    province_code="37",
    open_time=timedelta(hours=176),
    down_time=timedelta(0),
    availability=0.99996,  # floored to 99.99, never shown as 100
    outages=0,
    incidents=1,
    tickets=1,
)
NOT_YET = CommuneFigures("13999", "Xã Mới", "37", timedelta(0), timedelta(0), None, 0, 0, 0)

ISP = OwnerFigures(
    owner="isp",
    name_vi="Nhà mạng",
    name_en="ISP",
    kind="vendor",
    sla_respond=timedelta(minutes=30),
    sla_resolve=timedelta(hours=4),
    sla_clock="24x7",
    opened=3,
    response=SlaCount(met=2, breached=1, pending=0),
    resolution=SlaCount(met=1, breached=0, pending=2),
    response_notices=1,
    resolution_notices=0,
    longest=timedelta(hours=3, minutes=15),
    longest_ticket=17,
    longest_ongoing=True,
)
GONE = OwnerFigures(
    owner="old-vendor",
    name_vi="Nhà thầu cũ",
    name_en="",
    kind="",
    sla_respond=None,
    sla_resolve=None,
    sla_clock="24x7",
    opened=0,
    response=SlaCount(),
    resolution=SlaCount(),
    response_notices=0,
    resolution_notices=0,
    longest=None,
    longest_ticket=None,
    longest_ongoing=False,
)


def hand_report(generated_at: datetime = AFTER_MARCH, *, empty: bool = False) -> OfficialReport:
    """March 2026 in one province: two communes (and one not yet monitored), two owners."""
    if empty:
        return OfficialReport(MARCH, generated_at, (), (), (), ())
    return OfficialReport(
        period=MARCH,
        generated_at=generated_at,
        provinces=(
            ProvinceFigures(
                code="37",
                name="Ninh Bình",
                communes_total=129,
                communes_monitored=2,
                open_time=timedelta(hours=352),
                down_time=timedelta(hours=1, minutes=30),
                incidents=6,
                tickets=4,
            ),
        ),
        communes=(PHU_LY, YEN_MO, NOT_YET),
        classes=(ClassFigures("site_outage", 2, 1, 1, 2),),
        owners=(ISP, GONE),
        top_downtime=(YEN_MO,),
    )
