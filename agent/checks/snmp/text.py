"""Device strings as clean labels: NUL padding, hex dumps, UTF-16 and mixed encodings.

Printers name their supplies, trays and alerts in OCTET STRINGs (RFC 3805 uses the
``PrtLocalizedDescriptionStringTC``, whose encoding depends on the printer's localisation), and
their firmware gets it wrong in a few recurring ways this module undoes:

- NUL padding after the text (C strings copied into fixed-size buffers);
- text followed by a line of hex bytes, the rest of the same string dumped as hex (HP print
  servers: ``"Black Cartridge \\n38 32 37 41 20 48 50 ..."``, the workaround LibreNMS has too);
- the whole string sent as hex digits (``"E9 BB 91 E8 89 B2"``, CJK names of Ricoh/Fujifilm);
- UTF-8 mixed with single-byte Windows-1252 / Latin-1 text, or UTF-16 with a byte-order mark.

The one invariant: :func:`device_label` never returns text containing a hex dump
(:func:`has_hex_dump`), so none reaches a dashboard label or a ticket.
"""

from __future__ import annotations

import codecs
import re

# A hex byte token: two hex digits standing alone.
_HEX_BYTE = r"[0-9A-Fa-f]{2}"
# A line that is only hex bytes separated by single spaces (the HP dump, 16 bytes a line; the
# last token may be one digit when the device cut the line).
_HEX_LINE = re.compile(rf"^(?:{_HEX_BYTE} )*[0-9A-Fa-f]{{1,2}} ?$")
# A whole string of hex bytes: separated by spaces, colons or dashes, or packed (even length).
_HEX_SEPARATED = re.compile(rf"^{_HEX_BYTE}(?:[ :-]{_HEX_BYTE})+$")
_HEX_PACKED = re.compile(r"^(?:[0-9A-Fa-f]{2}){4,}$")
# A run of at least four hex byte tokens inside a line of text.
_HEX_RUN = re.compile(rf"(?<![0-9A-Za-z]){_HEX_BYTE}(?:[ :]{_HEX_BYTE}){{3,}}(?![0-9A-Za-z])")
# C0/C1 controls, zero-width characters and a stray byte-order mark.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\ufeff]")
_WHITESPACE = re.compile(r"\s+")
_MIN_PRINTABLE_SHARE = 0.9
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
# Bytes that are not UTF-8, as Python's surrogateescape error handler leaves them.
_ESCAPED = re.compile("[\udc80-\udcff]+")


def _utf8_or_single_byte(raw: bytes) -> str:
    """UTF-8, with each byte that is not UTF-8 read as Windows-1252 (mixed-encoding strings)."""
    text = raw.decode("utf-8", errors="surrogateescape")
    if not _ESCAPED.search(text):
        return text
    return _ESCAPED.sub(
        lambda run: (
            bytes(ord(ch) - 0xDC00 for ch in run.group())
            .decode("cp1252", errors="replace")
            .replace("\ufffd", "")
        ),
        text,
    )


def decode_octets(raw: bytes) -> str:
    """An OCTET STRING as text: UTF-16 when it says so, else UTF-8 with single-byte fallback.

    Text ends at the first NUL (DisplayString padding); a UTF-16 string keeps its NULs until
    decoded. Never raises on device bytes.
    """
    if b"\x00" not in raw and not raw.startswith(_UTF16_BOMS):
        # The common case, on every interface name of every poll: plain UTF-8 or ASCII.
        return _utf8_or_single_byte(raw)
    if raw.startswith(_UTF16_BOMS):
        return raw.decode("utf-16", errors="replace").split("\x00", 1)[0]
    if _looks_utf16le(raw):
        return raw.decode("utf-16-le", errors="replace").split("\x00", 1)[0]
    return _utf8_or_single_byte(raw.split(b"\x00", 1)[0])


def _looks_utf16le(raw: bytes) -> bool:
    # ASCII text as UTF-16LE without a BOM: every odd byte is NUL, the even ones are not.
    body = raw.rstrip(b"\x00")
    if len(body) < 4:
        return False
    if len(body) % 2:
        body += b"\x00"
    return not any(body[1::2]) and all(body[0::2])


def _printable(text: str) -> bool:
    if not text:
        return False
    good = sum(1 for ch in text if ch.isprintable() or ch in "\t\n\r")
    return good / len(text) >= _MIN_PRINTABLE_SHARE


def _from_hex(digits: str, *, strict: bool = False) -> str | None:
    """Text hidden in hex digits, or None if they do not decode to printable text.

    ``strict`` (for digits without separators, which may as well be a serial number such as
    "F03E34F342C3") accepts only valid UTF-8 that contains a letter.
    """
    packed = re.sub(r"[^0-9A-Fa-f]", "", digits)
    if len(packed) % 2:
        packed = packed[:-1] + "0" + packed[-1]
    try:
        raw = bytes.fromhex(packed).rstrip(b"\x00")
    except ValueError:
        return None
    if strict:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if "\x00" in text or not any(ch.isalpha() for ch in text):
            return None
    else:
        text = decode_octets(raw)
    return text if _printable(text) else None


def _undump_lines(text: str) -> str:
    """Join HP's text line and the hex lines after it into the string they spell.

    The first line is always text. A later line is a dump if it is only hex bytes: two or more,
    or a single one continuing a dump (the last line may hold just the terminating "00").
    """
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    joined = lines[0].rstrip("\r")
    in_dump = False
    for line in lines[1:]:
        stripped = line.rstrip("\r")
        in_dump = bool(_HEX_LINE.match(stripped)) and (in_dump or len(stripped.split()) > 1)
        if in_dump:
            decoded = _from_hex(stripped)
            # The dump continues the text exactly where the first line was cut: no separator.
            joined += decoded if decoded is not None else ""
        else:
            joined += "\n" + stripped
    return joined


def _replace_runs(text: str) -> str:
    """Decode (or, if they are not text, drop) runs of hex bytes left inside a line."""

    def replace(match: re.Match[str]) -> str:
        decoded = _from_hex(match.group(0))
        return decoded if decoded is not None else ""

    return _HEX_RUN.sub(replace, text)


def has_hex_dump(text: str) -> bool:
    """True if ``text`` contains a run of four or more hex byte tokens (a leaked hex dump)."""
    return _HEX_RUN.search(text) is not None


def device_label(raw: bytes | str, limit: int = 200) -> str:
    """A device-supplied name as a clean one-line label, at most ``limit`` characters.

    Hex dumps are decoded back into the text they spell, or dropped when they spell nothing
    printable; control characters are removed and whitespace collapsed. May return "".
    """
    text = decode_octets(raw) if isinstance(raw, bytes) else raw.split("\x00", 1)[0]
    candidate = text.strip()
    if _HEX_SEPARATED.match(candidate) or _HEX_PACKED.match(candidate):
        decoded = _from_hex(candidate, strict=_HEX_PACKED.match(candidate) is not None)
        if decoded is not None:
            text = decoded
        elif has_hex_dump(candidate):
            # Separated hex bytes that spell no text are a dump, never a name: drop them.
            text = ""
        # Packed digits that spell nothing ("12345678") are kept: they may be a real name.
    text = _undump_lines(text.replace("\r\n", "\n"))
    text = _WHITESPACE.sub(" ", _CONTROL.sub("", text)).strip()
    # Decoding can itself yield hex (a dump of a dump) or leave a run on a single line.
    for _ in range(3):
        if not has_hex_dump(text):
            break
        text = _WHITESPACE.sub(" ", _CONTROL.sub("", _replace_runs(text))).strip()
    if has_hex_dump(text):
        text = _WHITESPACE.sub(" ", _HEX_RUN.sub("", text)).strip()
    return text[:limit].strip()
