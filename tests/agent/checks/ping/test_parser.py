"""The ping output parser: tables of captured output (iputils, busybox, Windows), properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.checks.ping import PingParseError, PingResult, classify_ping_failure, parse_ping_output

# Captured on Debian 12, iputils 20221126, LC_ALL=C (the agent's own command line).
LINUX_LOOPBACK = """\
PING 127.0.0.1 (127.0.0.1) 56(84) bytes of data.
64 bytes from 127.0.0.1: icmp_seq=1 ttl=64 time=0.030 ms
64 bytes from 127.0.0.1: icmp_seq=2 ttl=64 time=0.042 ms
64 bytes from 127.0.0.1: icmp_seq=3 ttl=64 time=0.039 ms

--- 127.0.0.1 ping statistics ---
3 packets transmitted, 3 received, 0% packet loss, time 408ms
rtt min/avg/max/mdev = 0.030/0.037/0.042/0.005 ms
"""


LINUX_IPV6 = """\
PING ::1(::1) 56 data bytes
64 bytes from ::1: icmp_seq=1 ttl=64 time=0.386 ms
64 bytes from ::1: icmp_seq=2 ttl=64 time=0.048 ms

--- ::1 ping statistics ---
2 packets transmitted, 2 received, 0% packet loss, time 204ms
rtt min/avg/max/mdev = 0.048/0.217/0.386/0.169 ms
"""


LINUX_UNREACHABLE = """\
PING 10.255.255.1 (10.255.255.1) 56(84) bytes of data.
From 21.4.1.107 icmp_seq=1 Destination Port Unreachable

--- 10.255.255.1 ping statistics ---
1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms

"""


LINUX_UNKNOWN_HOST = "ping: nonexistent.invalid: Name or service not known\n"


LINUX_DUPLICATE = """\
PING 192.168.1.255 (192.168.1.255) 56(84) bytes of data.
64 bytes from 192.168.1.1: icmp_seq=1 ttl=64 time=0.412 ms
64 bytes from 192.168.1.20: icmp_seq=1 ttl=64 time=1.93 ms (DUP!)
64 bytes from 192.168.1.1: icmp_seq=2 ttl=64 time=0.388 ms

--- 192.168.1.255 ping statistics ---
2 packets transmitted, 2 received, +1 duplicates, 0% packet loss, time 1001ms
rtt min/avg/max/mdev = 0.388/0.910/1.930/0.727 ms
"""


BUSYBOX = """\
PING 10.0.0.1 (10.0.0.1): 56 data bytes
64 bytes from 10.0.0.1: seq=0 ttl=64 time=0.701 ms
64 bytes from 10.0.0.1: seq=2 ttl=64 time=0.655 ms

--- 10.0.0.1 ping statistics ---
3 packets transmitted, 2 packets received, 33% packet loss
round-trip min/avg/max = 0.655/0.678/0.701 ms
"""


# Windows 10/11 ping.exe, English UI, as printed with "-n 4 -w 2000".
WINDOWS_OK = """\

Pinging 10.10.0.1 with 32 bytes of data:
Reply from 10.10.0.1: bytes=32 time=3ms TTL=254
Reply from 10.10.0.1: bytes=32 time=2ms TTL=254
Reply from 10.10.0.1: bytes=32 time<1ms TTL=254
Reply from 10.10.0.1: bytes=32 time=7ms TTL=254

Ping statistics for 10.10.0.1:
    Packets: Sent = 4, Received = 4, Lost = 0 (0% loss),
Approximate round trip times in milli-seconds:
    Minimum = 0ms, Maximum = 7ms, Average = 3ms
"""


WINDOWS_LOSSY = """\

Pinging motcua.example.gov.vn [203.0.113.10] with 32 bytes of data:
Request timed out.
Reply from 203.0.113.10: bytes=32 time=41ms TTL=52
Reply from 203.0.113.10: bytes=32 time=45ms TTL=52
Request timed out.

Ping statistics for 203.0.113.10:
    Packets: Sent = 4, Received = 2, Lost = 2 (50% loss),
Approximate round trip times in milli-seconds:
    Minimum = 41ms, Maximum = 45ms, Average = 43ms
"""


# Windows counts "Destination host unreachable" as received; it is not an echo reply.
WINDOWS_UNREACHABLE = """\

Pinging 10.20.0.9 with 32 bytes of data:
Reply from 10.20.0.5: Destination host unreachable.
Request timed out.
Reply from 10.20.0.5: Destination host unreachable.
Request timed out.

Ping statistics for 10.20.0.9:
    Packets: Sent = 4, Received = 2, Lost = 2 (50% loss),
"""


WINDOWS_ALL_LOST = """\

Pinging 10.30.0.1 with 32 bytes of data:
Request timed out.
Request timed out.
Request timed out.
Request timed out.

Ping statistics for 10.30.0.1:
    Packets: Sent = 4, Received = 0, Lost = 4 (100% loss),
"""


# Windows IPv6 replies carry no TTL.
WINDOWS_IPV6 = """\

Pinging ::1 with 32 bytes of data:
Reply from ::1: time<1ms
Reply from ::1: time=2ms

Ping statistics for ::1:
    Packets: Sent = 2, Received = 2, Lost = 0 (0% loss),
Approximate round trip times in milli-seconds:
    Minimum = 0ms, Maximum = 2ms, Average = 1ms
"""


WINDOWS_UNKNOWN_HOST = (
    "Ping request could not find host nonexistent.invalid. Please check the name and try again.\n"
)


# A localised Windows (Vietnamese UI): the words change, "TTL=" and "=Nms" do not.
WINDOWS_VIETNAMESE = """\

Đang ping 10.10.0.1 với 32 byte dữ liệu:
Trả lời từ 10.10.0.1: byte=32 thời gian=12ms TTL=254
Trả lời từ 10.10.0.1: byte=32 thời gian=14ms TTL=254

Thống kê ping cho 10.10.0.1:
    Gói: Đã gửi = 2, Đã nhận = 2, Mất = 0 (mất 0%),
"""


@pytest.mark.parametrize(
    ("output", "transmitted", "rtts_ms"),
    [
        (LINUX_LOOPBACK, 3, [0.030, 0.042, 0.039]),
        (LINUX_IPV6, 2, [0.386, 0.048]),
        (LINUX_UNREACHABLE, 1, []),
        (LINUX_DUPLICATE, 2, [0.412, 0.388]),
        (BUSYBOX, 3, [0.701, 0.655]),
        (WINDOWS_OK, 4, [3, 2, 1, 7]),
        (WINDOWS_LOSSY, 4, [41, 45]),
        (WINDOWS_UNREACHABLE, 4, []),
        (WINDOWS_ALL_LOST, 4, []),
        (WINDOWS_VIETNAMESE, 2, [12, 14]),
        (WINDOWS_IPV6, 2, [1, 2]),
    ],
    ids=[
        "linux-loopback",
        "linux-ipv6",
        "linux-unreachable",
        "linux-duplicate",
        "busybox",
        "windows-ok",
        "windows-lossy",
        "windows-unreachable",
        "windows-all-lost",
        "windows-vietnamese",
        "windows-ipv6",
    ],
)
def test_ping_parser_reads_replies_and_count(output, transmitted, rtts_ms):
    result = parse_ping_output(output)
    assert result.transmitted == transmitted
    assert result.rtts == pytest.approx([ms / 1000 for ms in rtts_ms])
    assert result.loss_ratio == pytest.approx(1 - len(rtts_ms) / transmitted)


def test_ping_jitter_is_mean_absolute_difference_of_consecutive_rtts():
    result = parse_ping_output(WINDOWS_OK)  # 3, 2, 1, 7 ms
    assert result.jitter == pytest.approx((1 + 1 + 6) / 3 / 1000)
    assert PingResult(transmitted=3, rtts=(0.01,)).jitter is None


@pytest.mark.parametrize("output", [LINUX_UNKNOWN_HOST, WINDOWS_UNKNOWN_HOST, "", "garbage\n"])
def test_ping_parser_raises_its_own_error_on_unknown_output(output):
    with pytest.raises(PingParseError):
        parse_ping_output(output)


@pytest.mark.parametrize(
    ("output", "error_class"),
    [
        (LINUX_UNKNOWN_HOST, "dns"),
        (WINDOWS_UNKNOWN_HOST, "dns"),
        ("ping: connect: Network is unreachable\n", "unreachable"),
        ("PING: transmit failed. General failure.\n", "unreachable"),
        ("something else\n", "error"),
    ],
)
def test_ping_failures_are_classified(output, error_class):
    assert classify_ping_failure(output) == error_class


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_ping_parser_never_raises_anything_but_its_own_error(text):
    try:
        result = parse_ping_output(text)
    except PingParseError:
        return
    assert result.transmitted >= result.received
    assert 0.0 <= result.loss_ratio <= 1.0
    assert all(math.isfinite(r) and r >= 0 for r in result.rtts)


_reply_line = st.sampled_from(
    [
        "64 bytes from 10.0.0.1: icmp_seq=1 ttl=64 time={rtt} ms",
        "Reply from 10.0.0.1: bytes=32 time={rtt}ms TTL=128",
        "Trả lời từ 10.0.0.1: byte=32 thời gian={rtt}ms TTL=128",
    ]
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.integers(0, 5_000_000)), min_size=1, max_size=30),
    _reply_line,
    st.sampled_from(
        [
            "{sent} packets transmitted, {got} received",
            "Sent = {sent}, Received = {got}, Lost = {lost} (x% loss),",
        ]
    ),
)
def test_ping_parser_round_trips_rendered_replies(micros, template, summary):
    lines = ["PING header"]
    for value in micros:
        if value is None:
            lines.append("Request timed out.")
        else:
            lines.append(template.format(rtt=f"{value / 1000:.3f}"))
    got = sum(v is not None for v in micros)
    lines.append(summary.format(sent=len(micros), got=got, lost=len(micros) - got))
    result = parse_ping_output("\n".join(lines))
    assert result.transmitted == len(micros)
    assert result.rtts == pytest.approx([v / 1e6 for v in micros if v is not None])
