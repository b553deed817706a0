"""Backup and restore of the state store (agents, journal, tickets, register, users ...), while the
collector serves.

A backup is one ZIP file: ``manifest.json`` (format, store kind, schema revision, time, the
payload's size and SHA-256, row counts) and the payload, which is

- for SQLite, a copy made with SQLite's online backup API in one step: one read transaction, so
  a consistent snapshot, and in WAL mode the collector keeps writing meanwhile (a step-wise copy
  would restart at every write and never finish under ingest);
- for PostgreSQL, ``pg_dump --format=custom`` of a snapshot exported by the transaction that
  counted the rows (``province.backup_pg``).

A restore goes only into an empty store (no SQLite file, or an empty PostgreSQL database),
checks the payload's SHA-256 first, refuses a backup of a newer schema than this release knows,
and migrates an older one to this release's head afterwards. Docs: docs/backup.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Connection, Engine, Table, create_engine, func, select
from sqlalchemy.engine import URL

from alerts.schema import incidents, tickets
from collector.db import current_revision
from collector.errors import CollectorError
from collector.schema import agents, journal
from inventory.schema import inventory_assets
from province import backup_pg, migrate
from web.schema import users

FORMAT: Final = "commune-monitor-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MEMBERS = {"sqlite": "store.sqlite3", "postgresql": "store.pgdump"}
# What a restore is checked against: the rows people and agents would miss.
COUNTED: tuple[Table, ...] = (agents, journal, incidents, tickets, inventory_assets, users)
_CHUNK = 1 << 20

StoreKind = Literal["sqlite", "postgresql"]
Progress = Callable[[str], None]


class BackupError(CollectorError):
    """A backup or restore that cannot be done; the message says why and what to do."""


class Manifest(BaseModel):
    """What a backup holds; written as ``manifest.json`` beside the payload."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["commune-monitor-backup"] = FORMAT
    format_version: int = Field(ge=1)
    store: StoreKind
    schema_revision: str = Field(min_length=1, max_length=64)
    created_at: datetime
    release: str
    member: str
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    counts: dict[str, int]


@dataclass(frozen=True)
class Restored:
    """What a restore did: the manifest, whether it migrated, and the rows found after."""

    manifest: Manifest
    migrated_to: str | None
    counts: dict[str, int]


def _quiet(_message: str) -> None:
    return None


def store_kind(url: URL) -> StoreKind:
    """sqlite or postgresql; other stores are refused."""
    backend = url.get_backend_name()
    if backend == "sqlite":
        return "sqlite"
    if backend == "postgresql":
        return "postgresql"
    raise BackupError(f"database_url: {backend} stores are not supported (sqlite, postgresql)")


def sqlite_file(url: URL) -> Path:
    """The file of a SQLite URL (an in-memory store has none to back up or restore into)."""
    if not url.database or url.database == ":memory:":
        raise BackupError("database_url: an in-memory SQLite store has no file")
    return Path(url.database)


def counts(conn: Connection) -> dict[str, int]:
    """Rows of each counted table."""
    return {
        table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
        for table in COUNTED
    }


def _revision(conn: Connection) -> str:
    from alembic.runtime.migration import MigrationContext

    found = MigrationContext.configure(conn).get_current_revision()
    if not found:
        raise BackupError("the store has no schema yet (run 'commune-monitor db upgrade')")
    return str(found)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _release() -> str:
    try:
        return metadata.version("commune-monitor")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "unknown"


# -- backup --------------------------------------------------------------------------------------


def _copy_sqlite(source: Path, copy: Path) -> tuple[str, dict[str, int]]:
    """Online copy of ``source`` into ``copy``; its schema revision and row counts."""
    if not source.is_file():
        raise BackupError(f"{source}: no SQLite store there (check --data-dir/--database-url)")
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(copy)
    try:
        src.execute("PRAGMA busy_timeout=30000")
        # pages=-1: the whole file in one step, one read transaction (see the module docstring).
        src.backup(dst, pages=-1)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        check = dst.execute("PRAGMA quick_check").fetchone()
        if check is None or check[0] != "ok":
            raise BackupError(f"{source}: the copy fails SQLite's quick_check: {check}")
    finally:
        dst.close()
        src.close()
    engine = create_engine(f"sqlite:///{copy}")
    try:
        with engine.connect() as conn:
            return _revision(conn), counts(conn)
    finally:
        engine.dispose()


def _dump_postgres(engine: Engine, dump: Path) -> tuple[str, dict[str, int]]:
    """pg_dump of a snapshot; its schema revision and row counts (from the same snapshot)."""
    program = backup_pg.tool("pg_dump")
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        backup_pg.check_client(program, conn)
        snapshot = backup_pg.export_snapshot(conn)
        revision, found = _revision(conn), counts(conn)
        backup_pg.dump(engine.url, snapshot, dump)  # the transaction holds the snapshot open
        conn.rollback()
    return revision, found


def backup(engine: Engine, dest: Path, now: datetime, progress: Progress = _quiet) -> Manifest:
    """Write a backup of ``engine``'s store to ``dest`` (replaced atomically); its manifest."""
    kind = store_kind(engine.url)
    dest = dest.resolve()
    dest.parent.mkdir(parents=True, exist_ok=True)
    member = MEMBERS[kind]
    with tempfile.TemporaryDirectory(prefix=".cm-backup-", dir=dest.parent) as folder:
        payload = Path(folder) / member
        if kind == "sqlite":
            source = sqlite_file(engine.url)
            progress(f"copying {source} ({source.stat().st_size / 1e6:.1f} MB) online …")
            revision, found = _copy_sqlite(source, payload)
        else:
            progress(f"pg_dump of {engine.url.database} (custom format) …")
            revision, found = _dump_postgres(engine, payload)
        manifest = Manifest(
            format_version=FORMAT_VERSION,
            store=kind,
            schema_revision=revision,
            created_at=now,
            release=_release(),
            member=member,
            size=payload.stat().st_size,
            sha256=_sha256(payload),
            counts=found,
        )
        progress(f"writing {dest.name} ({manifest.size / 1e6:.1f} MB payload) …")
        part = Path(folder) / "backup.zip"
        # SQLite pages compress well; a custom-format dump is compressed already.
        compression = zipfile.ZIP_DEFLATED if kind == "sqlite" else zipfile.ZIP_STORED
        with zipfile.ZipFile(part, "w", compression=compression, compresslevel=1) as archive:
            archive.writestr(MANIFEST, manifest.model_dump_json(indent=2))
            archive.write(payload, member)
        os.replace(part, dest)
    return manifest


# -- restore -------------------------------------------------------------------------------------


def read_manifest(archive: zipfile.ZipFile, name: str) -> Manifest:
    """The manifest of an open backup; errors name the file and the field."""
    try:
        raw = archive.read(MANIFEST)
    except KeyError:
        raise BackupError(f"{name}: no {MANIFEST}: not a commune-monitor backup") from None
    try:
        manifest = Manifest.model_validate(json.loads(raw))
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(manifest)"
        raise BackupError(f"{name}: {MANIFEST}, field '{field}': {first['msg']}") from None
    except ValueError as exc:
        raise BackupError(f"{name}: {MANIFEST} is not JSON: {exc}") from None
    if manifest.format_version > FORMAT_VERSION:
        raise BackupError(
            f"{name}: backup format {manifest.format_version} is newer than this release reads "
            f"({FORMAT_VERSION}); restore it with the release that made it ({manifest.release})"
        )
    return manifest


def known_revisions() -> set[str]:
    """Every schema revision this release ships."""
    from alembic.script import ScriptDirectory

    return {script.revision for script in ScriptDirectory(str(migrate.MIGRATIONS)).walk_revisions()}


def check_schema(manifest: Manifest, name: str) -> bool:
    """Whether the backup needs migrating after the restore; refused if its schema is newer."""
    head = migrate.head_revision()
    if manifest.schema_revision not in known_revisions():
        raise BackupError(
            f"{name}: its schema revision {manifest.schema_revision!r} is newer than this "
            f"release's ({head}); restore it with release {manifest.release} or later"
        )
    return manifest.schema_revision != head


@contextlib.contextmanager
def _payload(
    archive: zipfile.ZipFile, manifest: Manifest, folder: Path, name: str
) -> Iterator[Path]:
    """The payload extracted into ``folder`` and checked against the manifest's SHA-256."""
    target = folder / manifest.member
    try:
        with archive.open(manifest.member) as src, target.open("wb") as out:
            while chunk := src.read(_CHUNK):
                out.write(chunk)
    except KeyError:
        raise BackupError(f"{name}: the payload {manifest.member} is missing") from None
    if _sha256(target) != manifest.sha256:
        raise BackupError(f"{name}: the payload's SHA-256 does not match the manifest: damaged")
    yield target


def _ensure_empty(engine: Engine, kind: StoreKind) -> None:
    """Refuse a target that holds anything: a restore never mixes two stores."""
    if kind == "sqlite":
        target = sqlite_file(engine.url)
        for path in (target, Path(f"{target}-wal")):
            if path.exists() and path.stat().st_size > 0:
                raise BackupError(
                    f"{target}: a store is already there; restore only into an empty data dir "
                    "(move the old store away first)"
                )
        return
    found = backup_pg.user_relations(engine)
    if found:
        raise BackupError(
            f"database {engine.url.database}: not empty ({found} tables, views or sequences); "
            "restore only into a new, empty database (createdb)"
        )


def _restore_sqlite(engine: Engine, payload: Path) -> None:
    _ensure_empty(engine, "sqlite")  # again: nothing may have appeared meanwhile
    target = sqlite_file(engine.url)
    target.parent.mkdir(parents=True, exist_ok=True)
    for leftover in (Path(f"{target}-wal"), Path(f"{target}-shm")):
        leftover.unlink(missing_ok=True)  # empty leftovers of a store never written to
    check = sqlite3.connect(payload)
    try:
        ok = check.execute("PRAGMA quick_check").fetchone()
    finally:
        check.close()
    if ok is None or ok[0] != "ok":
        raise BackupError(f"{payload.name}: fails SQLite's quick_check: {ok}")
    os.replace(payload, target)  # same folder tree: the store appears whole or not at all


def _restore_postgres(engine: Engine, payload: Path) -> None:
    program = backup_pg.tool("pg_restore")
    with engine.connect() as conn:
        backup_pg.check_client(program, conn)
    backup_pg.restore(engine.url, payload)


def restore(engine: Engine, source: Path, progress: Progress = _quiet) -> Restored:
    """Restore ``source`` into ``engine``'s empty store; migrate it if it is older."""
    kind = store_kind(engine.url)
    name = source.name
    try:
        archive = zipfile.ZipFile(source)
    except (OSError, zipfile.BadZipFile) as exc:
        raise BackupError(f"{source}: cannot read as a backup: {exc}") from None
    with archive:
        manifest = read_manifest(archive, name)
        if manifest.store != kind:
            raise BackupError(
                f"{name}: a {manifest.store} backup cannot be restored into a {kind} store"
            )
        older = check_schema(manifest, name)
        _ensure_empty(engine, kind)
        folder = sqlite_file(engine.url).parent if kind == "sqlite" else None
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".cm-restore-", dir=folder) as tmp:
            progress(f"checking {manifest.member} ({manifest.size / 1e6:.1f} MB) …")
            with _payload(archive, manifest, Path(tmp), name) as payload:
                progress(f"restoring schema {manifest.schema_revision} into {kind} …")
                if kind == "sqlite":
                    engine.dispose()  # no pooled connection to a file that is replaced
                    _restore_sqlite(engine, payload)
                else:
                    _restore_postgres(engine, payload)
    migrated = None
    if older:
        progress(f"migrating {manifest.schema_revision} → {migrate.head_revision()} …")
        migrate.upgrade(engine)
        migrated = current_revision(engine)
    with engine.connect() as conn:
        found = counts(conn)
    return Restored(manifest, migrated, found)
