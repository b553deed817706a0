"""The agent's log lines on stderr: ``time level logger: message key=value ...``.

Shared by the CLI and the service process it starts (``agent.service``), which imports no CLI code.
"""

from __future__ import annotations

import logging
import sys

# Attributes every LogRecord has; anything else came in through ``extra=`` and is printed.
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class FieldsFormatter(logging.Formatter):
    """``time level logger: message key=value ...``: the constant message, then its fields."""

    def format(self, record: logging.LogRecord) -> str:
        """The formatted line followed by the record's ``extra`` fields."""
        line = super().format(record)
        fields = [
            f"{key}={value!r}" if isinstance(value, str) and " " in value else f"{key}={value}"
            for key, value in vars(record).items()
            if key not in _RECORD_FIELDS
        ]
        return f"{line} {' '.join(fields)}" if fields else line


def setup_logging(level: str) -> None:
    """Log to stderr at ``level`` unless logging is configured already (a test harness)."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(FieldsFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level.upper())
    # apscheduler logs every job run at INFO: thousands of lines a day for nothing.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
