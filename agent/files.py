"""Atomic, owner-only file writes for the agent's identity, state and cached configuration."""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
from pathlib import Path

log = logging.getLogger(__name__)


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) if missing; a new folder is owner-only on POSIX."""
    if path.is_dir():
        return
    path.mkdir(parents=True, exist_ok=True, mode=0o700)


def _restrict_windows_acl(path: Path) -> None:
    # POSIX modes mean nothing on NTFS. Drop inherited ACEs and grant only SYSTEM (the service)
    # and Administrators, so a counter clerk's account cannot read the agent token.
    if sys.platform != "win32":
        return
    try:
        subprocess.run(
            [
                "icacls",
                str(path),
                "/inheritance:r",
                "/grant:r",
                "*S-1-5-18:F",  # SYSTEM, by SID so a localised Windows works too
                "/grant:r",
                "*S-1-5-32-544:F",  # BUILTIN\Administrators
            ],
            check=True,
            capture_output=True,
            timeout=30,
            creationflags=subprocess.CREATE_NO_WINDOW,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("could not restrict file ACL", extra={"path": str(path), "error": str(exc)})


def write_atomic(path: Path, data: bytes, *, private: bool = False, durable: bool = True) -> None:
    """Replace ``path`` with ``data`` so readers see the old or the new file, never half.

    ``private``: mode 0600 on POSIX (set at creation, before any byte is written), owner-only ACL
    on Windows. ``durable``: fsync the file and its folder, so the new content survives a power cut.
    """
    make_private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()  # a leftover of a killed writer could carry wider permissions
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o600 if private else 0o644)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        if durable:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    if private:
        _restrict_windows_acl(tmp)
    os.replace(tmp, path)
    if durable and sys.platform != "win32":
        # The rename is durable only once the folder entry is on disk (POSIX; NTFS journals it).
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def is_private(path: Path) -> bool:
    """True when no one but the owner may read ``path`` (always True on Windows: ACLs rule)."""
    if sys.platform == "win32":
        return True
    return path.stat().st_mode & 0o077 == 0
