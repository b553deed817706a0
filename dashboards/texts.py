"""Bilingual dashboard text: every title is written once as (Vietnamese, English).

Vietnamese is the default language of the generated dashboards (the DOST staff read them);
each dashboard is also generated in English under its own uid (suffix ``-en``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Lang = Literal["vi", "en"]
LANGS: tuple[Lang, ...] = ("vi", "en")


@dataclass(frozen=True)
class Tr:
    """Picks the text of one language from a (Vietnamese, English) pair."""

    lang: Lang

    def __call__(self, vi: str, en: str) -> str:
        return vi if self.lang == "vi" else en


def uid_for(base: str, lang: Lang) -> str:
    """Dashboard uid: the Vietnamese dashboard keeps the base uid, others get a suffix."""
    return base if lang == "vi" else f"{base}-{lang}"
