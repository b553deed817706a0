"""What an agent sends stays on its line of a ticket and its message (alerts/text.py,
alerts/messages.py): a label value with line breaks planted "URGENT ... http://..." lines in
ticket bodies and e-mails (issue 20)."""

from __future__ import annotations

from datetime import UTC, datetime

from alerts.text import one_line, render
from tests.alerts.support import PLANTED


def test_control_characters_from_an_agent_never_start_a_line_of_a_ticket() -> None:
    text = render(
        ticket_id=7,
        problem_class="software_slow_site",
        commune_code="14134",
        commune_name="Xã A",
        device_id="probe:motcua@PC-1",
        signal=f"probe_success{{target={PLANTED}}}",
        signal_vi=PLANTED,
        signal_en=PLANTED,
        started_at=datetime(2026, 12, 1, 1, 0, tzinfo=UTC),
        ended_at=None,
        evidence={"target": PLANTED, "message\nURGENT": PLANTED, "rtt": 1.5},
        owner_vi="Nhà cung cấp",
        owner_en="Vendor",
        public_url="https://cm.example",
    )
    for body in (text.body_vi, text.body_en, text.title_vi, text.title_en):
        assert not any(line.startswith("URGENT") for line in body.splitlines()), body
        assert "\r" not in body
        assert "\u2028" not in body
    assert "URGENT: the account is locked" in text.body_en  # kept, on its own field's line


def test_one_line_bounds_length() -> None:
    assert len(one_line("x" * 10_000)) == 300
    assert one_line("a\tb\x00c\u202ed") == "a b c d"
