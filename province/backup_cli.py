"""``commune-monitor backup FILE`` and ``commune-monitor restore FILE``: the state store to one file
and back, while the collector serves (backup) or before it first starts (restore).

The store is the one the global options name (``--data-dir`` or ``--database-url``). Details and
what a restore cannot bring back: docs/backup.md.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from agent.clock import SystemClock
from collector.cli_support import fail, store
from collector.errors import CollectorError
from province.backup import backup, restore


def _progress(message: str) -> None:
    typer.echo(message, err=True)


def backup_command(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            help="Backup file to write (a .zip: manifest.json and the store). Replaced if it "
            "exists. It holds every agent token's hash, users' password hashes and tickets: "
            "keep it as safe as the store.",
        ),
    ],
) -> None:
    """Back up the state store to FILE, while the collector runs.

    SQLite: its online backup API (one consistent moment; ingest goes on). PostgreSQL:
    pg_dump --format=custom, whose major version must not be older than the server's.
    """
    started = time.monotonic()
    try:
        with store(ctx) as engine:
            manifest = backup(engine, file, SystemClock().now(), _progress)
    except (CollectorError, OSError) as exc:
        fail(str(exc))
    rows = ", ".join(f"{count} {name}" for name, count in manifest.counts.items())
    typer.echo(
        f"backup {file}: {manifest.store}, schema {manifest.schema_revision}, {rows} "
        f"({file.stat().st_size:,} bytes, {time.monotonic() - started:.1f} s)"
    )


def restore_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Backup file made by 'commune-monitor backup'.")],
) -> None:
    """Restore FILE into an empty store, then migrate it to this release's schema.

    The store must be empty: a new --data-dir, or a new PostgreSQL database. Refuses a store
    that is not, a damaged file, and a backup of a newer release's schema. Start the collector
    afterwards.
    """
    started = time.monotonic()
    try:
        with store(ctx) as engine:
            done = restore(engine, file, _progress)
    except (CollectorError, OSError) as exc:
        fail(str(exc))
    rows = ", ".join(f"{count} {name}" for name, count in done.counts.items())
    migrated = f", migrated to {done.migrated_to}" if done.migrated_to else ""
    typer.echo(
        f"restored {file} (schema {done.manifest.schema_revision}{migrated}): {rows} "
        f"in {time.monotonic() - started:.1f} s"
    )
    lost = {
        name: count - done.counts.get(name, 0)
        for name, count in done.manifest.counts.items()
        if done.counts.get(name, 0) < count
    }
    if lost:
        fail(f"fewer rows than the backup's manifest: {lost}", code=1)
