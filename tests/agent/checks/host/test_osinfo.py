"""OS facts: Windows names, releases and builds from injected readers; Linux from os-release."""

from __future__ import annotations

import platform

import pytest

from agent.checks.host.osinfo import WindowsRelease, linux_facts, os_facts, windows_facts


@pytest.mark.parametrize(
    ("release", "name", "version", "build", "os"),
    [
        (
            WindowsRelease(
                10, 0, 19045, release="10", edition="Professional", display_version="22H2"
            ),
            "Windows 10",
            "22H2",
            "19045",
            "Windows 10 Professional 10.0.19045",
        ),
        (  # Python 3.11 says release "10" on Windows 11; no DisplayVersion: from the build table
            WindowsRelease(10, 0, 22631, release="10", edition="Core"),
            "Windows 11",
            "23H2",
            "22631",
            "Windows 11 Core 10.0.22631",
        ),
        (
            WindowsRelease(6, 1, 7601, release="7", edition="Professional"),
            "Windows 7",
            "6.1",
            "7601",
            "Windows 7 Professional 6.1.7601",
        ),
        (
            WindowsRelease(10, 0, 17763, product_type=3, release="2019Server"),
            "Windows Server 2019",
            "1809",
            "17763",
            "Windows 2019Server 10.0.17763",
        ),
        (
            WindowsRelease(10, 0, 19999, release="10"),
            "Windows 10",
            "10.0",
            "19999",
            "Windows 10 10.0.19999",
        ),
    ],
)
def test_windows_facts(release, name, version, build, os):
    assert windows_facts(release) == {
        "os": os,
        "os_name": name,
        "os_version": version,
        "os_build": build,
    }


def test_linux_facts_come_from_os_release_and_the_kernel():
    debian = {"NAME": "Debian GNU/Linux", "VERSION_ID": "12", "PRETTY_NAME": "Debian GNU/Linux 12"}
    assert linux_facts(debian, "6.1.0-18-amd64") == {
        "os": "Debian GNU/Linux 12 (kernel 6.1.0-18-amd64)",
        "os_name": "Debian GNU/Linux",
        "os_version": "12",
        "os_build": "6.1.0-18-amd64",
    }
    assert linux_facts({}, "5.10")["os_name"] == "Linux"


def test_os_facts_dispatch_on_the_platform_with_injected_readers():
    windows = os_facts("win32", windows_release=lambda: WindowsRelease(10, 0, 26100, release="10"))
    assert (windows["os_name"], windows["os_version"], windows["os_build"]) == (
        "Windows 11",
        "24H2",
        "26100",
    )
    linux = os_facts("linux", os_release=lambda: {"NAME": "Ubuntu"}, kernel=lambda: "6.8.0")
    assert (linux["os_name"], linux["os_build"]) == ("Ubuntu", "6.8.0")
    mac = os_facts("darwin", kernel=lambda: "23.4.0", system=lambda: "Darwin")
    assert mac == {"os": "Darwin 23.4.0", "os_name": "Darwin", "os_version": "23.4.0",
                   "os_build": "23.4.0"}  # fmt: skip


def test_this_machine_has_its_os_facts():
    facts = os_facts()
    assert facts["os_name"]
    assert facts["os_build"] == platform.release()
