"""The CAs' module data and discovery: every entry sourced, Windows paths, each file once."""

from __future__ import annotations

import os

from agent.checks.tokens.middleware import (
    Candidate,
    existing_modules,
    expand,
    known_candidates,
    load_middleware,
    platform_key,
)

CAS = {"VNPT-CA", "Viettel-CA", "VGCA", "FPT-CA", "BKAV-CA"}


def test_the_data_names_the_province_cas_each_with_a_source_and_files():
    data = load_middleware()
    assert {entry.ca for entry in data.modules} >= CAS
    for entry in data.modules:
        assert entry.source.strip(), entry.ca
        assert entry.windows or entry.linux or entry.darwin, entry.ca
        for name in (*entry.windows, *entry.linux, *entry.darwin):
            assert name.lower().endswith((".dll", ".so", ".dylib")), name


def test_windows_candidates_are_in_system32_and_program_files():
    env = {"SYSTEMROOT": r"D:\Win", "ProgramFiles": r"C:\Program Files"}
    paths = {c.path: c.ca for c in known_candidates(load_middleware(), "windows", env)}
    assert paths[r"D:\Win\System32\vnptca_p11_v10.dll"] == "VNPT-CA"
    assert paths[r"D:\Win\System32\viettel-ca_v6.dll"] == "Viettel-CA"
    assert paths[r"D:\Win\System32\bit4ipki.dll"] == "VGCA"
    assert paths[r"C:\Program Files\FPT\FPT_CA\fptca_v4.dll"] == "FPT-CA"
    assert paths[r"D:\Win\System32\BkavCA.dll"] == "BKAV-CA"
    assert not [p for p in paths if "%" in p]


def test_a_service_without_systemroot_still_finds_system32():
    paths = [c.path for c in known_candidates(load_middleware(), "windows", {})]
    assert r"C:\Windows\System32\vnpt-ca_csp11.dll" in paths


def test_expansion_keeps_unknown_names_and_follows_each_os():
    assert expand(r"%SystemRoot%\x.dll", "windows", {"systemroot": "C:\\W"}) == r"C:\W\x.dll"
    assert expand(r"%NOPE%\x.dll", "windows", {}) == r"%NOPE%\x.dll"
    assert expand("$HOME/lib/x.so", "linux", {"HOME": "/home/a"}) == "/home/a/lib/x.so"
    assert [platform_key(p) for p in ("win32", "linux", "darwin", "freebsd14")] == [
        "windows",
        "linux",
        "darwin",
        "linux",
    ]


def test_existing_modules_keep_each_file_once_and_only_files_that_exist(tmp_path):
    real = tmp_path / "libvnpt.so"
    real.write_bytes(b"")
    link = tmp_path / "link.so"
    os.symlink(real, link)
    candidates = [
        Candidate(ca="A", path=str(tmp_path / "missing.so")),
        Candidate(ca="B", path=str(link)),
        Candidate(ca="C", path=str(real)),
    ]
    assert existing_modules(candidates) == [Candidate(ca="B", path=str(link))]
