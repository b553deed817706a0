"""glibc malloc settings for the long-running collector: freed memory goes back to the system.

Under a steady ingest load the collector's RSS kept climbing although Python's own heap was
flat: glibc kept freed memory in per-thread arenas, and its mmap threshold rose after large
short-lived buffers (a 17 MB /metrics page) so that later ones came from the heap and stayed
there (docs/security.md, "Memory under load"). Two arenas and a fixed 128 KiB mmap threshold
held a 30-minute soak flat. Set here so that operators need no environment variables; a
platform without glibc (Windows, musl) is left alone.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

# From glibc's <malloc.h>.
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8

ARENA_MAX = 2
MMAP_THRESHOLD_BYTES = 128 * 1024


def limit_malloc_retention() -> bool:
    """Apply the arena and mmap-threshold limits; False where glibc's mallopt is missing.

    Call it before the process starts threads: arenas already created stay.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False  # not glibc
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    arenas: int = mallopt(M_ARENA_MAX, ARENA_MAX)
    threshold: int = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
    done = arenas == 1 and threshold == 1
    if not done:
        log.warning("glibc refused the malloc limits; RSS may grow with freed memory kept")
    return done
