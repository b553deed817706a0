"""Atomic, owner-only writes (agent/files.py): readers see the old or the new file, a private
file is owner-only from its creation, a failed write leaves the old file and no leftover."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from agent import files

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")


def test_a_write_replaces_the_whole_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "token"
    files.write_atomic(path, b"first")
    files.write_atomic(path, b"second, longer", durable=False)
    assert path.read_bytes() == b"second, longer"
    assert sorted(p.name for p in path.parent.iterdir()) == ["token"]


@posix_only
def test_private_files_and_new_folders_are_owner_only(tmp_path: Path) -> None:
    folder = tmp_path / "agent"
    path = folder / "identity.json"
    files.write_atomic(path, b"{}", private=True)
    assert files.is_private(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert folder.stat().st_mode & 0o777 == 0o700
    shared = folder / "status.json"
    files.write_atomic(shared, b"{}")
    assert not files.is_private(shared)
    # A leftover temporary of a killed writer, readable by all, is not reused.
    leftover = folder / f".identity.json.{os.getpid()}.tmp"
    leftover.write_bytes(b"old")
    leftover.chmod(0o644)
    files.write_atomic(path, b'{"new": 1}', private=True)
    assert path.stat().st_mode & 0o777 == 0o600
    assert not leftover.exists()


def test_an_existing_folder_is_left_as_it_is(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    files.make_private_dir(folder)
    assert folder.stat().st_mode & 0o777 == 0o755


def test_a_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    files.write_atomic(path, b"old")

    # Not bytes: refused once the temporary file exists, which must then go.
    with pytest.raises(TypeError):
        files.write_atomic(path, "new")  # type: ignore[arg-type]
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]
