"""Where the demo's processes write their log: a file, so the console keeps the demo's own lines
readable (the fleet's process and its collector's process append to the same file)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def logging_to(path: Path) -> Iterator[None]:
    """Send log records to a file: the console keeps the demo's own lines readable."""
    root = logging.getLogger()
    saved = list(root.handlers)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for old in saved:
        root.removeHandler(old)
    root.addHandler(handler)
    # One line per agent POST would be most of the file and a measurable share of the CPU.
    httpx_logger = logging.getLogger("httpx")
    httpx_level = httpx_logger.level
    httpx_logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        httpx_logger.setLevel(httpx_level)
        root.removeHandler(handler)
        handler.close()
        for old in saved:
            root.addHandler(old)
