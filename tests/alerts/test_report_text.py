"""The text of a ticket people reported (alerts/report_text.py): what, where, who to call back,
when and how often, in both languages, with everything typed kept on its own line."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alerts.categories import bundled_categories
from alerts.report_text import ReportFacts, render_reported
from alerts.text import TicketText
from tests.alerts.support import PLANTED

AT = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # 08:30 in Hà Nội


def _facts(**values: Any) -> ReportFacts:
    fields: dict[str, Any] = {
        "description": "Bấm in nhưng máy không chạy",
        "message": "",
        "reporter_name": "Nguyễn Thị Hoa",
        "reporter_phone": "0912345678",
        "counter": None,
        "at": AT,
        "actor": "dost",
    }
    fields.update(values)
    return ReportFacts(**fields)


def _render(facts: ReportFacts, **values: Any) -> TicketText:
    category = bundled_categories().get("cannot_print")
    assert category is not None
    fields: dict[str, Any] = {
        "ticket_id": 12,
        "category": category,
        "commune_code": "14134",
        "commune_name": "Xã Yên Mô",
        "device_id": None,
        "facts": facts,
        "ended_at": None,
        "owner_vi": "Tổ CNTT xã",
        "owner_en": "Commune IT",
        "public_url": "https://cm.example/",
    }
    fields.update(values)
    return render_reported(**fields)


def test_a_first_report_reads_what_where_who_and_when() -> None:
    category = bundled_categories().get("cannot_print")
    assert category is not None
    text = _render(_facts())
    assert text.title_vi == f"Phản ánh: {category.name_vi}: Xã Yên Mô (mã 14134)"
    assert text.title_en == f"Reported: {category.name_en}: Xã Yên Mô (code 14134)"
    assert text.body_vi.splitlines() == [
        f"Phản ánh: {category.name_vi}",
        "Địa điểm: Xã Yên Mô (mã 14134)",
        "Mô tả: Bấm in nhưng máy không chạy",
        "Người phản ánh: Nguyễn Thị Hoa, 0912345678 (gọi lại để làm rõ)",
        "Tiếp nhận lúc: 08:30 02/03/2026 (giờ Việt Nam), người nhập: dost",
        "Đơn vị xử lý: Tổ CNTT xã",
        "Chi tiết: https://cm.example/tickets/12",
    ]
    assert text.body_en.splitlines()[-3:] == [
        "Received: 08:30 02/03/2026 (Asia/Ho_Chi_Minh), entered by: dost",
        "Owner: Commune IT",
        "Details: https://cm.example/tickets/12",
    ]


def test_device_counter_message_count_and_resolution_are_added_when_known() -> None:
    facts = _facts(message="Lỗi 0x1F", counter="Quầy 3", count=3)
    text = _render(facts, device_id="PR-1", ended_at=datetime(2026, 3, 2, 3, 0, tzinfo=UTC))
    assert "Địa điểm: Xã Yên Mô (mã 14134), thiết bị PR-1, quầy Quầy 3" in text.body_vi
    assert "Where: Xã Yên Mô (code 14134), device PR-1, counter Quầy 3" in text.body_en
    assert "Nội dung lỗi: Lỗi 0x1F" in text.body_vi
    assert "Error message: Lỗi 0x1F" in text.body_en
    assert "Số lần phản ánh: 3" in text.body_vi
    assert "Reports: 3" in text.body_en
    assert "Đã xử lý xong lúc: 10:00 02/03/2026" in text.body_vi
    assert "Resolved at: 10:00 02/03/2026" in text.body_en
    assert text.title_vi.endswith("thiết bị PR-1, quầy Quầy 3")


def test_an_unknown_commune_name_and_english_owner_fall_back() -> None:
    text = _render(_facts(), commune_name=None, owner_en="")
    assert "Địa điểm: 14134 (mã 14134)" in text.body_vi
    assert text.body_en.splitlines()[-2] == "Owner: Tổ CNTT xã"
    assert "Error message" not in text.body_en
    assert "Reports:" not in text.body_en


def test_what_a_person_typed_never_starts_a_line_of_its_own() -> None:
    facts = _facts(
        description=PLANTED,
        message=PLANTED,
        reporter_name=PLANTED,
        reporter_phone="09\n12",
        counter=PLANTED,
        actor=PLANTED,
    )
    text = _render(facts, device_id=PLANTED)
    for body in (text.title_vi, text.title_en, text.body_vi, text.body_en):
        assert not any(line.startswith("URGENT") for line in body.splitlines())
        assert "\r" not in body
        assert "\u2028" not in body
    assert "URGENT: the account is locked" in text.body_vi


def test_a_long_description_is_cut() -> None:
    text = _render(_facts(description="x" * 5000))
    (line,) = [line for line in text.body_en.splitlines() if line.startswith("Description: ")]
    assert len(line) == len("Description: ") + 2000
    assert line.endswith("…")
