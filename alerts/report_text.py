"""The title and body of a ticket people reported (issue 22), Vietnamese first and English.

What was reported, where (commune, device, counter), the description and the software's message,
who reported it and how to call them back, when, and the owner. Everything a person typed is
put on one line (``alerts.text.one_line``): a description must not start a line of its own in an
e-mail, where it could pass for one of the message's links.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from agent.vntime import format_local
from alerts.categories import Category
from alerts.text import TicketText, one_line


@dataclass(frozen=True, slots=True)
class ReportFacts:
    """What a ticket's first report says, and how many reports it has."""

    description: str
    message: str
    reporter_name: str
    reporter_phone: str
    counter: str | None
    at: datetime
    actor: str
    count: int = 1


def render_reported(
    *,
    ticket_id: int,
    category: Category,
    commune_code: str,
    commune_name: str | None,
    device_id: str | None,
    facts: ReportFacts,
    ended_at: datetime | None,
    owner_vi: str,
    owner_en: str,
    public_url: str,
) -> TicketText:
    """The texts of a reported ticket in both languages."""
    name = commune_name or commune_code
    where_vi, where_en = f"{name} (mã {commune_code})", f"{name} (code {commune_code})"
    if device_id:
        where_vi += f", thiết bị {one_line(device_id, 128)}"
        where_en += f", device {one_line(device_id, 128)}"
    if facts.counter:
        where_vi += f", quầy {one_line(facts.counter, 40)}"
        where_en += f", counter {one_line(facts.counter, 40)}"
    reporter = f"{one_line(facts.reporter_name, 200)}, {one_line(facts.reporter_phone, 20)}"
    description = one_line(facts.description, 2000)
    at = format_local(facts.at)
    vi = [
        f"Phản ánh: {category.name_vi}",
        f"Địa điểm: {where_vi}",
        f"Mô tả: {description}",
    ]
    en = [
        f"Reported: {category.name_en}",
        f"Where: {where_en}",
        f"Description: {description}",
    ]
    if facts.message:
        vi.append(f"Nội dung lỗi: {one_line(facts.message, 1000)}")
        en.append(f"Error message: {one_line(facts.message, 1000)}")
    vi.append(f"Người phản ánh: {reporter} (gọi lại để làm rõ)")
    en.append(f"Reported by: {reporter} (call back for details)")
    vi.append(f"Tiếp nhận lúc: {at} (giờ Việt Nam), người nhập: {one_line(facts.actor, 100)}")
    en.append(f"Received: {at} (Asia/Ho_Chi_Minh), entered by: {one_line(facts.actor, 100)}")
    if facts.count > 1:
        vi.append(f"Số lần phản ánh: {facts.count}")
        en.append(f"Reports: {facts.count}")
    if ended_at is not None:
        vi.append(f"Đã xử lý xong lúc: {format_local(ended_at)}")
        en.append(f"Resolved at: {format_local(ended_at)}")
    vi.append(f"Đơn vị xử lý: {owner_vi}")
    en.append(f"Owner: {owner_en or owner_vi}")
    link = f"{public_url.rstrip('/')}/tickets/{ticket_id}"
    vi.append(f"Chi tiết: {link}")
    en.append(f"Details: {link}")
    return TicketText(
        f"Phản ánh: {category.name_vi}: {where_vi}",
        f"Reported: {category.name_en}: {where_en}",
        "\n".join(vi),
        "\n".join(en),
    )
