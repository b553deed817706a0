"""The operating system's facts: ``os`` (a description), ``os_name``, ``os_version``, ``os_build``.

The collector judges unsupported systems from them (issue 23: Windows 7, Windows 10 after its end
of support on 14 October 2025, old Windows 11 releases), so they are plain values:

- Windows: ``os_name`` "Windows 10" / "Windows 11" / "Windows 7" ..., from the version and the
  build number of ``sys.getwindowsversion()`` (Python 3.11 says release "10" on Windows 11: build
  22000 is Windows 11's first); ``os_version`` the release ("22H2") from the registry's
  ``DisplayVersion`` (``ReleaseId`` before 20H2), else from the build table below, else
  "major.minor"; ``os_build`` the build number ("19045").
- Linux: ``os_name`` and ``os_version`` are ``NAME`` and ``VERSION_ID`` of os-release,
  ``os_build`` the kernel release.

Everything the OS is asked goes through injectable readers, so the mapping is tested on Linux.
"""

from __future__ import annotations

import contextlib
import platform
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass

# Release names by build, for PCs whose registry lacks DisplayVersion/ReleaseId (Microsoft's
# release-information pages for Windows 10 and 11).
_WINDOWS_RELEASES = {
    10240: "1507",
    10586: "1511",
    14393: "1607",
    15063: "1703",
    16299: "1709",
    17134: "1803",
    17763: "1809",
    18362: "1903",
    18363: "1909",
    19041: "2004",
    19042: "20H2",
    19043: "21H1",
    19044: "21H2",
    19045: "22H2",
    22000: "21H2",
    22621: "22H2",
    22631: "23H2",
    26100: "24H2",
    26200: "25H2",
}
# Server releases share version 10.0 with the desktop; told apart by build (product type != 1).
_WINDOWS_SERVERS = {14393: "2016", 17763: "2019", 20348: "2022", 26100: "2025"}
# Before Windows 10: names by (major, minor).
_OLD_WINDOWS = {
    (5, 1): "Windows XP",
    (5, 2): "Windows XP",
    (6, 0): "Windows Vista",
    (6, 1): "Windows 7",
    (6, 2): "Windows 8",
    (6, 3): "Windows 8.1",
}
_FIRST_WINDOWS_11_BUILD = 22_000


@dataclass(frozen=True, slots=True)
class WindowsRelease:
    """What Windows says about itself: ``sys.getwindowsversion()``, ``platform`` and registry."""

    major: int
    minor: int
    build: int
    product_type: int = 1  # 1 workstation, 2 domain controller, 3 server
    release: str = ""  # platform.release(): "10", "7", "2019Server"
    edition: str = ""  # platform.win32_edition(): "Professional", "Core"
    display_version: str = ""  # registry DisplayVersion ("22H2") or ReleaseId ("1909")


def read_windows_release() -> WindowsRelease:  # pragma: no cover - Windows only
    """This PC's Windows release (no WMI, no PowerShell: a counter PC may be slow to answer)."""
    if sys.platform != "win32":
        raise OSError("not Windows")
    import winreg

    version = sys.getwindowsversion()
    display = ""
    with contextlib.suppress(OSError):
        key = winreg.OpenKey(
            winreg.HKEY_LOCAL_MACHINE, r"SOFTWARE\Microsoft\Windows NT\CurrentVersion"
        )
        with key:
            for name in ("DisplayVersion", "ReleaseId"):
                with contextlib.suppress(OSError):
                    value, _ = winreg.QueryValueEx(key, name)
                    if str(value).strip():
                        display = str(value).strip()
                        break
    return WindowsRelease(
        major=int(version.major),
        minor=int(version.minor),
        build=int(version.build),
        product_type=int(getattr(version, "product_type", 1)),
        release=platform.release(),
        edition=platform.win32_edition() or "",
        display_version=display,
    )


def windows_name(release: WindowsRelease) -> str:
    """``Windows 11``, ``Windows 10``, ``Windows Server 2019``, ``Windows 7`` ..."""
    if (release.major, release.minor) == (10, 0):
        if release.product_type != 1:
            server = _WINDOWS_SERVERS.get(release.build)
            return f"Windows Server {server}" if server else "Windows Server"
        return "Windows 11" if release.build >= _FIRST_WINDOWS_11_BUILD else "Windows 10"
    return _OLD_WINDOWS.get((release.major, release.minor), f"Windows {release.release}".strip())


def windows_facts(release: WindowsRelease) -> dict[str, str]:
    """The OS facts of a Windows PC, ``os`` worded as before issue 23."""
    version = f"{release.major}.{release.minor}.{release.build}"  # platform.version()
    legacy_name = (
        "Windows 11" if release.build >= _FIRST_WINDOWS_11_BUILD else f"Windows {release.release}"
    )
    os_version = release.display_version
    if not os_version and (release.major, release.minor) == (10, 0):
        os_version = _WINDOWS_RELEASES.get(release.build, "")
    os_version = os_version or f"{release.major}.{release.minor}"
    return {
        "os": " ".join(p for p in (legacy_name, release.edition, version) if p),
        "os_name": windows_name(release),
        "os_version": os_version,
        "os_build": str(release.build),
    }


def linux_facts(os_release: Mapping[str, str], kernel: str) -> dict[str, str]:
    """The OS facts of a Linux PC from its os-release fields and kernel release."""
    pretty = os_release.get("PRETTY_NAME") or "Linux"
    return {
        "os": f"{pretty} (kernel {kernel})",
        "os_name": os_release.get("NAME") or "Linux",
        "os_version": os_release.get("VERSION_ID") or os_release.get("VERSION") or "",
        "os_build": kernel,
    }


def _os_release() -> Mapping[str, str]:
    try:
        return platform.freedesktop_os_release()
    except OSError:
        return {}


def os_facts(
    platform_name: str = sys.platform,
    *,
    windows_release: Callable[[], WindowsRelease] = read_windows_release,
    os_release: Callable[[], Mapping[str, str]] = _os_release,
    kernel: Callable[[], str] = platform.release,
    system: Callable[[], str] = platform.system,
) -> dict[str, str]:
    """The OS facts of this PC (readers injectable for tests)."""
    if platform_name == "win32":
        return windows_facts(windows_release())
    if platform_name.startswith("linux"):
        return linux_facts(os_release(), kernel())
    name, release = system(), kernel()
    return {
        "os": f"{name} {release}".strip(),
        "os_name": name,
        "os_version": release,
        "os_build": release,
    }
