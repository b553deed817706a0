"""Ticket text, Vietnamese first (with diacritics) and English: what, where, since when, evidence.

Times are shown in Asia/Ho_Chi_Minh (stored in UTC). Vietnam keeps UTC+7 without daylight saving.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agent.vntime import format_local

# Control characters (C0, DEL, C1), line and paragraph separators and the bidirectional
# overrides: from an agent's label value or event message they would start a line of their own in
# a ticket's body and its e-mail ("URGENT ... http://...", issue 20) or reorder what is shown.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
MAX_VALUE = 300


def one_line(value: object, limit: int = MAX_VALUE) -> str:
    """``value`` as text on one line: control characters become spaces, at most ``limit``
    characters (for anything an agent or a request provided that reaches a message)."""
    text = _CONTROL.sub(" ", value if isinstance(value, str) else str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


CLASS_TEXT: dict[str, tuple[str, str]] = {
    "site_outage": ("Mất kết nối toàn bộ điểm", "Whole site offline"),
    "site_link_degraded": ("Đường truyền chập chờn", "Link degraded (flapping)"),
    "upstream_outage": (
        "Mất kết nối nhiều xã cùng lúc (đường truyền tỉnh)",
        "Many communes offline at once (provincial uplink)",
    ),
    "software_outage": ("Hệ thống phần mềm dùng chung gặp sự cố", "Central software outage"),
    "software_slow_site": ("Phần mềm chậm hoặc lỗi tại xã", "Software slow or failing at site"),
    "device_down": ("Thiết bị không hoạt động", "Device down"),
    "device_health": ("Thiết bị có vấn đề sức khỏe", "Device health problem"),
    "printer_fault": ("Máy in báo lỗi", "Printer fault"),
    "printer_supply_low": ("Mực/vật tư máy in sắp hết", "Printer supply low"),
    "signing_cert_expiring": ("Chứng thư số sắp hết hạn", "Signing certificate expiring"),
    "token_missing": ("Không có USB token ký số trên máy ký", "Signing USB token missing"),
    "signing_plugin_down": ("Phần mềm ký số không sẵn sàng", "Signing plugin not ready"),
    "tls_cert_expiring": (
        "Chứng thư TLS của hệ thống dùng chung sắp hết hạn",
        "Central system's TLS certificate expiring",
    ),
}


@dataclass(frozen=True, slots=True)
class TicketText:
    """Both languages of a ticket's title and body."""

    title_vi: str
    title_en: str
    body_vi: str
    body_en: str


def render(
    *,
    ticket_id: int | None,
    problem_class: str,
    commune_code: str | None,
    commune_name: str | None,
    device_id: str | None,
    signal: str,
    signal_vi: str,
    signal_en: str,
    started_at: datetime,
    ended_at: datetime | None,
    evidence: dict[str, Any],
    owner_vi: str,
    owner_en: str,
    public_url: str,
    system_vi: str = "",
    system_en: str = "",
    communes: list[str] | None = None,
) -> TicketText:
    """The title and body of a ticket in Vietnamese and English.

    ``system_vi``/``system_en`` name the central system of a software incident; ``communes``
    ("Name (code)") are the communes a software outage hits.
    """
    device_id = one_line(device_id, 128) if device_id else device_id
    signal, signal_vi, signal_en = one_line(signal), one_line(signal_vi), one_line(signal_en)
    what_vi, what_en = CLASS_TEXT.get(problem_class, (problem_class, problem_class))
    if system_vi:
        what_vi = f"{what_vi} — {system_vi}"
        what_en = f"{what_en} — {system_en or system_vi}"
    where_vi, where_en = "toàn tỉnh", "province-wide"
    if commune_code is not None:
        name = commune_name or commune_code
        where_vi = f"{name} (mã {commune_code})"
        where_en = f"{name} (code {commune_code})"
    if device_id:
        where_vi += f", thiết bị {device_id}"
        where_en += f", device {device_id}"
    title_vi = f"{what_vi}: {where_vi}"
    title_en = f"{what_en}: {where_en}"
    link = f"{public_url.rstrip('/')}/tickets/{ticket_id}" if ticket_id else public_url
    since = format_local(started_at)
    lines_vi = [
        f"Sự cố: {what_vi}" + (f" — {signal_vi}" if signal_vi else ""),
        f"Địa điểm: {where_vi}",
        f"Chỉ số: {signal}",
        f"Bắt đầu từ: {since} (giờ Việt Nam)",
    ]
    lines_en = [
        f"What: {what_en}" + (f" — {signal_en}" if signal_en else ""),
        f"Where: {where_en}",
        f"Counter: {signal}",
        f"Since: {since} (Asia/Ho_Chi_Minh)",
    ]
    if communes:
        listed = one_line(", ".join(communes), 4000)
        lines_vi.append(f"Xã bị ảnh hưởng ({len(communes)}): {listed}")
        lines_en.append(f"Communes affected ({len(communes)}): {listed}")
    if ended_at is not None:
        lines_vi.append(f"Đã phục hồi lúc: {format_local(ended_at)}")
        lines_en.append(f"Recovered at: {format_local(ended_at)}")
    lines_vi.append(f"Đơn vị xử lý: {owner_vi}")
    lines_en.append(f"Owner: {owner_en or owner_vi}")
    if evidence:
        lines_vi.append("Số liệu đo gần nhất:")
        lines_en.append("Last measurements:")
        for key, value in sorted(evidence.items()):
            line = f"  - {one_line(key, 100)}: {one_line(value)}"
            lines_vi.append(line)
            lines_en.append(line)
    lines_vi.append(f"Chi tiết: {link}")
    lines_en.append(f"Details: {link}")
    return TicketText(title_vi, title_en, "\n".join(lines_vi), "\n".join(lines_en))
