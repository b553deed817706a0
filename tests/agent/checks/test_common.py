"""agent.checks.common: the PC's device id, path ids, loopback rules, finite numbers."""

from __future__ import annotations

import math
import re
import socket
import subprocess
import sys

import pytest

from agent.checks.common import (
    NAME_PATTERN,
    CheckError,
    distinct_ports,
    finite_or_none,
    header_safe,
    hidden_window_flags,
    is_loopback_host,
    loopback_only,
    path_device_id,
    pc_device_id,
)
from agent.wire import DeviceReport


def test_a_configured_device_id_wins_over_the_host_name() -> None:
    assert pc_device_id("DESKTOP-01") == "DESKTOP-01"


@pytest.mark.parametrize(
    ("hostname", "expected"),
    [
        ("DESKTOP-01", "DESKTOP-01"),
        ("Máy tính kế toán", "M-y-t-nh-k-to-n"),  # every run of bad characters is one '-'
        ("  pc 1  ", "pc-1"),
        ("!!!", "pc"),  # nothing usable left
        ("a" * 300, "a" * 128),
    ],
)
def test_the_host_name_is_made_safe_for_the_wire(
    monkeypatch: pytest.MonkeyPatch, hostname: str, expected: str
) -> None:
    monkeypatch.setattr(socket, "gethostname", lambda: hostname)
    assert pc_device_id() == expected
    assert pc_device_id("") == expected  # an empty setting is no setting
    # The wire accepts what comes out.
    DeviceReport(device_id=expected, kind="pc", samples=[], events=[], facts={})


def test_path_ids_name_the_pc_and_are_bounded() -> None:
    assert path_device_id("probe", "motcua", "DESKTOP-01") == "probe:motcua@DESKTOP-01"
    assert len(path_device_id("probe", "x" * 200, "pc")) == 128


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("LOCALHOST", True),
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("10.0.0.1", False),
        ("0.0.0.0", False),
        ("localhost.example.vn", False),
        ("::ffff:8.8.8.8", False),
        ("not a host", False),
    ],
)
def test_only_localhost_and_loopback_addresses_are_local(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


def test_no_window_flag_only_on_windows() -> None:
    if sys.platform == "win32":
        assert hidden_window_flags() == subprocess.CREATE_NO_WINDOW
    else:
        assert hidden_window_flags() == 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1.5, 1.5), (0.0, 0.0), (-3.0, -3.0), (None, None), (math.nan, None), (math.inf, None),
     (-math.inf, None)],
)  # fmt: skip
def test_only_finite_numbers_pass(value: float | None, expected: float | None) -> None:
    assert finite_or_none(value) == expected


def test_name_pattern_and_error_base() -> None:
    assert re.match(NAME_PATTERN, "motcua_portal-2")
    assert not re.match(NAME_PATTERN, "Motcua")
    assert not re.match(NAME_PATTERN, "-x")
    assert not re.match(NAME_PATTERN, "a" * 64)
    assert issubclass(CheckError, Exception)


def test_the_local_checks_validators_name_what_is_wrong() -> None:
    assert loopback_only("::1", "local_service") == "::1"
    with pytest.raises(ValueError, match="is not a loopback host; local_service"):
        loopback_only("10.0.0.5", "local_service")
    assert distinct_ports((8987, 4433)) == (8987, 4433)
    with pytest.raises(ValueError, match="port 70000 is not within"):
        distinct_ports((4433, 70_000))
    with pytest.raises(ValueError, match="repeat a port"):
        distinct_ports((4433, 4433))
    assert header_safe(None) is None
    assert header_safe("/ws") == "/ws"
    with pytest.raises(ValueError, match="printable without spaces"):
        header_safe("/ws\r\nX-Injected: 1")
