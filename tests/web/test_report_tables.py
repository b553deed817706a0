"""The official report as tables (web/report_tables.py): typed cells, hours and percentages
rounded as the report prints them, owners' SLA terms, the cover lines and the definitions."""

from __future__ import annotations

from inventory.tables import ColumnType
from tests.web.report_samples import IN_MARCH, hand_report
from web.report_tables import cover_lines, definitions, report_sections


def _cells(section_title_en: str) -> list[dict[str, object]]:
    (section,) = [s for s in report_sections(hand_report(), "en") if s.title == section_title_en]
    keys = [column.key for column in section.sheet.columns]
    return [dict(zip(keys, row, strict=True)) for row in section.sheet.rows]


def test_the_sections_come_in_the_pdfs_order_in_either_language() -> None:
    english = report_sections(hand_report(), "en")
    assert [s.title for s in english] == [
        "Summary per province",
        "Communes down longest",
        "Incidents by class",
        "SLA compliance per owner (contract)",
        "Availability per commune",
    ]
    vietnamese = report_sections(hand_report(), "vi")
    assert vietnamese[0].title == "Tổng hợp theo tỉnh"
    # The same figures whatever the language: only the words differ.
    assert [s.sheet.rows for s in vietnamese][:2] == [s.sheet.rows for s in english][:2]
    for section in english:
        for row in section.sheet.rows:
            assert len(row) == len(section.sheet.columns)


def test_hours_are_rounded_and_availability_floored_to_two_decimals() -> None:
    (province,) = _cells("Summary per province")
    assert province["rep_monitored"] == "2/129"
    assert province["rep_open_hours"] == 352.0
    assert province["rep_down_hours"] == 1.5
    phu_ly, yen_mo, not_yet = _cells("Availability per commune")
    assert phu_ly["rep_availability"] == 99.99  # 99.996 %: never a misleading 100 %
    assert yen_mo["rep_availability"] == 99.14  # 1 - 1.5/176 = 99.147.. %, floored
    assert (yen_mo["rep_outages"], yen_mo["rep_incidents"], yen_mo["rep_tickets"]) == (2, 5, 3)
    assert not_yet["rep_availability"] is None
    assert "rep_rank" not in phu_ly


def test_the_longest_down_are_ranked_from_one() -> None:
    (first,) = _cells("Communes down longest")
    assert (first["rep_rank"], first["code"], first["rep_down_hours"]) == (1, "14134", 1.5)
    (section,) = [s for s in report_sections(hand_report(), "en") if s.title.endswith("longest")]
    assert section.sheet.columns[0].type is ColumnType.INT


def test_an_owner_row_reads_its_contract_and_compliance() -> None:
    isp, gone = _cells("SLA compliance per owner (contract)")
    assert isp["owner"] == "ISP"
    assert isp["rep_owner_kind"] == "Vendor"
    assert isp["rep_sla_terms"] == "30 min / 4 h (24/7)"
    assert (isp["rep_resp_met"], isp["rep_resp_breached"]) == (2, 1)
    assert isp["rep_resp_rate"] == 66.66
    assert isp["rep_pending"] == 2
    assert isp["rep_notices"] == 1
    assert isp["rep_longest"] == 3.25
    assert isp["rep_longest_ticket"] == "#17 (ongoing)"
    # An owner routing.yaml no longer has: no kind nor terms, no ticket.
    assert (gone["rep_owner_kind"], gone["rep_sla_terms"]) == ("-", "-")
    assert gone["rep_longest"] is None
    assert gone["rep_longest_ticket"] is None
    vi_owner = report_sections(hand_report(), "vi")[3].sheet.rows[0]
    assert vi_owner[1] == "Nhà mạng"
    assert vi_owner[3] == "30 phút / 4 giờ (24/7)"
    assert vi_owner[-1] == "#17 (chưa xong)"


def test_classes_are_named_in_the_language() -> None:
    (row,) = _cells("Incidents by class")
    assert row["problem_class"] == "Whole site offline"
    assert (row["rep_incidents"], row["rep_in_window"], row["rep_communes_hit"]) == (2, 1, 1)


def test_the_cover_says_the_period_and_whether_it_is_over() -> None:
    done = cover_lines(hand_report(), "vi")
    assert done == [
        ("Kỳ báo cáo", "tháng 03/2026 (2026-03)"),
        ("Lập lúc", "09:00 02/04/2026"),
        ("Giờ Việt Nam (UTC+7)", ""),
    ]
    running = cover_lines(hand_report(IN_MARCH), "en")
    assert running[0] == ("Period", "March 2026 (2026-03)")
    assert running[-1] == ("The period is not over: figures up to 15:00 10/03/2026.", "")


def test_the_definitions_are_three_in_each_language() -> None:
    vi, en = definitions("vi"), definitions("en")
    assert len(vi) == len(en) == 3
    assert vi != en
    assert all(text for text in vi + en)
