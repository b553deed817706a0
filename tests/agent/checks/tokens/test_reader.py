"""The token reader: certificates, unavailability, a module that fails, the process protocol."""

from __future__ import annotations

import json
import subprocess
import sys

from agent.checks.tokens.middleware import Candidate
from agent.checks.tokens.reader import ReaderRequest, parse_certificate, read, read_module
from tests.agent.checks.tokens.softhsm import certificate


def _der(cert) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return cert.public_bytes(serialization.Encoding.DER)


def test_a_holder_certificate_keeps_its_vietnamese_name_and_a_ca_one_is_skipped():
    info = parse_certificate(_der(certificate("Nguyễn Văn An", 5)), "d86a")
    assert info is not None
    assert (info.holder, info.issuer, info.token_serial) == (
        "Nguyễn Văn An",
        "VNPT Certification Authority",
        "d86a",
    )
    assert info.not_after.endswith("+00:00")
    assert int(info.serial, 16) > 0
    assert parse_certificate(_der(certificate("Root CA", 900, ca=True))) is None
    assert parse_certificate(b"not a certificate") is None


def test_without_python_pkcs11_the_answer_is_unavailable(monkeypatch):
    monkeypatch.setitem(sys.modules, "pkcs11", None)
    answer = read(ReaderRequest())
    assert (answer.available, answer.reason) == (False, "python-pkcs11 is not installed")
    assert answer.modules == []


def test_a_module_that_cannot_load_is_its_error_not_an_exception(tmp_path):
    fake = tmp_path / "viettel-ca_v6.so"
    fake.write_text("not a library")
    result = read_module(Candidate(ca="Viettel-CA", path=str(fake)), 16)
    assert (result.loaded, result.tokens, result.certificates) == (False, [], [])
    assert result.error


def test_the_reader_process_answers_ascii_json_and_refuses_a_bad_request(tmp_path):
    request = ReaderRequest(
        modules=(Candidate(ca="X", path=str(tmp_path / "none.so")),), known_modules=False
    )
    done = subprocess.run(
        [sys.executable, "-m", "agent.checks.tokens.reader"],
        input=request.model_dump_json().encode(),
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.isascii()
    assert json.loads(done.stdout) == {"available": True, "reason": None, "modules": []}
    bad = subprocess.run(
        [sys.executable, "-m", "agent.checks.tokens.reader"],
        input=b'{"max_certificates": 0}',
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2
    assert b"max_certificates" in bad.stderr
