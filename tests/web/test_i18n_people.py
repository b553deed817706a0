"""The console's words for the people's side (web/i18n_people.py): both languages for each, the
same placeholders in each, merged into the console's messages without replacing one of them."""

from __future__ import annotations

import ast
import string
from pathlib import Path

from web import i18n
from web.i18n import MESSAGES, translator
from web.i18n_people import PEOPLE_MESSAGES


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_every_word_has_both_languages_with_the_same_placeholders() -> None:
    for key, (vi, en) in PEOPLE_MESSAGES.items():
        assert vi.strip(), key
        assert en.strip(), key
        assert _fields(vi) == _fields(en), key
        assert (vi, en) == (vi.strip(), en.strip()), key


def test_the_vietnamese_is_written_with_its_diacritics() -> None:
    # An accidental ASCII-only Vietnamese text (typed without a Vietnamese keyboard) shows here.
    ascii_only = [key for key, (vi, en) in PEOPLE_MESSAGES.items() if vi.isascii() and vi != en]
    assert ascii_only == []


def test_the_people_words_join_the_console_messages_without_replacing_any() -> None:
    source = Path(i18n.__file__).read_text(encoding="utf-8")
    tree = ast.parse(source)
    (literal,) = [
        node.value
        for node in tree.body
        if isinstance(node, ast.AnnAssign)
        and isinstance(node.target, ast.Name)
        and node.target.id == "MESSAGES"
    ]
    assert isinstance(literal, ast.Dict)
    console_keys = {key.value for key in literal.keys if isinstance(key, ast.Constant)}
    assert console_keys
    assert console_keys.isdisjoint(PEOPLE_MESSAGES)
    for key, pair in PEOPLE_MESSAGES.items():
        assert MESSAGES[key] == pair


def test_the_translator_fills_their_placeholders() -> None:
    assert translator("vi")("link_done_ack", id=7) == "Đã nhận xử lý phiếu #7"
    assert translator("en")("link_already", id=7, state="resolved") == "Ticket #7 is resolved"
    assert translator("en")("nav_mailbox") == "Mailbox"
