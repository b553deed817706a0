"""Parser of the output of the system ``ping``: replies, echo count, loss, jitter, failure class.

It does not trust the summary lines, which Windows localises (and which count "Destination host
unreachable" as a reply): it reads one line per reply, recognised by ``ttl=`` (language-independent;
Windows IPv6 replies have none and are told from the indented summary by their single time) and a
time ``time=12ms`` / ``time<1ms`` / ``time=0.840 ms`` (any word before ``=``), and computes
min/avg/max, loss and jitter itself, the same way on every platform. Windows resolution is 1 ms and
``<1ms`` counts as 1 ms (an upper bound, as telegraf does). Jitter is the mean absolute difference
between consecutive RTTs (RFC 3550's idea, without its smoothing); it differs from iputils' ``mdev``
(a standard deviation).
"""

from __future__ import annotations

import math
import re
import statistics
from dataclasses import dataclass

from agent.checks.common import CheckError

# One reply: "ttl=" and a time such as "time=0.840 ms", "time<1ms", "thời gian=20ms".
_TTL = re.compile(r"\bttl[=:]\s*\d{1,3}\b", re.IGNORECASE)
_TIME = re.compile(r"[=<]\s*(\d{1,7}(?:[.,]\d{1,6})?)\s*ms\b", re.IGNORECASE)
# Summaries: iputils/busybox "5 packets transmitted", Windows "Sent = 4, Received = 4, Lost = 0"
# in any language (three "= n" counts on one line).
_LINUX_SENT = re.compile(r"(\d{1,9}) packets transmitted")
_WINDOWS_SENT = re.compile(r"=\s*(\d{1,9}),[^=\n]*=\s*(\d{1,9}),[^=\n]*=\s*(\d{1,9})")
_DNS_FAILURES = (
    "name or service not known",
    "temporary failure in name resolution",
    "could not find host",
    "unknown host",
    "cannot resolve",
    "no address associated",
)
_UNREACHABLE = ("network is unreachable", "general failure", "transmit failed", "no route")


class PingError(CheckError):
    """A ping target could not be measured."""


class PingParseError(PingError):
    """``ping`` printed nothing we recognise as replies or a summary."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output[:500]


@dataclass(frozen=True, slots=True)
class PingResult:
    """Replies to ``transmitted`` echoes: the RTT of each answered one, in seconds, in order."""

    transmitted: int
    rtts: tuple[float, ...]

    @property
    def received(self) -> int:
        """Number of answered echoes."""
        return len(self.rtts)

    @property
    def loss_ratio(self) -> float:
        """Share of echoes without an answer, 0 to 1."""
        if self.transmitted <= 0:
            return 1.0
        return min(1.0, max(0.0, 1.0 - self.received / self.transmitted))

    @property
    def jitter(self) -> float | None:
        """Mean absolute difference of consecutive RTTs (None with fewer than two replies)."""
        if len(self.rtts) < 2:
            return None
        return statistics.fmean(abs(b - a) for a, b in zip(self.rtts, self.rtts[1:], strict=False))


def parse_ping_output(output: str) -> PingResult:
    """Replies and echo count from the output of Linux iputils, busybox or Windows ``ping``.

    Raises ``PingParseError`` (and nothing else) when the output has neither a reply nor a summary.
    """
    rtts: list[float] = []
    transmitted: int | None = None
    for line in output.splitlines():
        if "DUP!" in line:
            continue  # a duplicate reply to an echo already counted
        times = _TIME.findall(line)
        # A reply has a TTL, except Windows IPv6 replies ("Reply from ::1: time<1ms"); those are
        # told from the indented "Minimum = 0ms, Maximum = 0ms, ..." summary by their one time.
        if times and (_TTL.search(line) or (len(times) == 1 and not line[:1].isspace())):
            value = float(times[0].replace(",", ".")) / 1000.0
            if math.isfinite(value):
                rtts.append(value)
            continue
        if transmitted is None:
            sent = _LINUX_SENT.search(line) or _WINDOWS_SENT.search(line)
            if sent:
                transmitted = int(sent.group(1))
    if transmitted is None and not rtts:
        first = next((ln.strip() for ln in output.splitlines() if ln.strip()), "")
        raise PingParseError(f"no replies or summary in ping output: {first[:200]!r}", output)
    count = max(transmitted or 0, len(rtts))
    if count == 0:
        raise PingParseError("ping sent no echo", output)
    return PingResult(transmitted=count, rtts=tuple(rtts))


def classify_ping_failure(output: str) -> str:
    """``dns``, ``unreachable`` or ``error`` from what ping printed when it measured nothing."""
    lowered = output.lower()
    if any(text in lowered for text in _DNS_FAILURES):
        return "dns"
    if any(text in lowered for text in _UNREACHABLE):
        return "unreachable"
    return "error"
