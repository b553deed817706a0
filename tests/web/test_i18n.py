"""The console's words and number formats (web/i18n.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from web.i18n import MESSAGES, duration_text, local_time, percent_text, translator, vnd
from web.render import TEMPLATES


def test_every_word_the_templates_use_is_in_both_languages() -> None:
    used: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_]+)["']""", template.read_text()))
        # Keys built from a prefix: status_*, state_*, role_*, health_*, action_*.
        for prefix in re.findall(r"""t\(\s*["']([a-z]+_)["']\s*~""", template.read_text()):
            assert any(key.startswith(prefix) for key in MESSAGES), prefix
    missing = {key for key in used if not key.endswith("_")} - MESSAGES.keys()
    assert not missing
    for key, (vi, en) in MESSAGES.items():
        assert vi.strip(), key
        assert en.strip(), key
    assert translator("vi")("status_down") == "Mất kết nối"
    assert translator("en")("status_down") == "Down"
    assert len(used) > 60


def test_the_login_answers_exist_in_both_languages() -> None:
    # Said by the login route, not a template: 401, 429 and 503.
    for key in ("login_refused", "too_many_attempts", "login_busy"):
        vi, en = MESSAGES[key]
        assert vi != en, key
    assert "3 phút" in translator("vi")("too_many_attempts", minutes=3)
    assert "3 minutes" in translator("en")("too_many_attempts", minutes=3)


def test_amounts_shares_and_spans_read_as_each_language_writes_them() -> None:
    assert vnd(1_250_000, "vi") == "1.250.000"
    assert vnd(1_250_000, "en") == "1,250,000"
    assert vnd(None, "vi") == "-"
    assert percent_text(0.99961, "vi") == "99,9 %"  # never rounded up to a misleading 100 %
    assert percent_text(1.0, "en") == "100.0 %"
    assert duration_text(2 * 86400 + 3 * 3600 + 59, "vi") == "2 ngày 3 giờ"
    assert duration_text(-45 * 60, "en") == "45 min"
    assert duration_text(20, "vi") == "0 phút"
    # 01:00 UTC is 08:00 in Hà Nội (UTC+7 all year).
    assert local_time(datetime(2026, 3, 2, 1, 0, tzinfo=UTC)) == "08:00 02/03/2026"
    assert local_time(None) == "-"
