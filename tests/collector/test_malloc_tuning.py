"""The collector limits glibc's malloc retention where glibc is the allocator."""

from __future__ import annotations

import platform
import subprocess
import sys

from collector.malloc_tuning import limit_malloc_retention


def _glibc() -> bool:
    return sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


def test_limits_apply_on_glibc() -> None:
    if not _glibc():
        assert limit_malloc_retention() is False
        return
    # In a child: the arena limit must not change the test process's allocator.
    code = (
        "import ctypes, sys; from collector.malloc_tuning import limit_malloc_retention; "
        "ok = limit_malloc_retention(); "
        # A 200 KiB block above the 128 KiB threshold is mmapped: freeing it returns memory.
        "libc = ctypes.CDLL('libc.so.6'); libc.malloc.restype = ctypes.c_void_p; "
        "p = libc.malloc(200 * 1024); libc.free(ctypes.c_void_p(p)); "
        "sys.exit(0 if ok else 3)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
