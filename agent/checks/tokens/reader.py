"""The token reader: a short-lived process that loads PKCS#11 modules, reads tokens, certificates.

Run by the ``tokens`` check as ``python -m agent.checks.tokens.reader`` with a JSON request on
stdin; prints one JSON answer on stdout. A process of its own because:

- a vendor's PKCS#11 module is native code: if it crashes or hangs, the check kills this process
  and reports it, and the agent service goes on;
- many modules see a token plugged in after ``C_Initialize`` only after re-initialising: a fresh
  process initialises afresh every time;
- python-pkcs11, cryptography and PyYAML never become resident in the agent service.

Only public objects are read, in a read-only session, without ``C_Login``: no PIN is asked for.
Tokens whose ``CKF_TOKEN_INITIALIZED`` flag is not set (an empty reader slot, SoftHSM's spare
slot) do not count. CA certificates kept on a token are skipped: the holder's certificate is the
one whose expiry stops a clerk.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.checks.tokens.middleware import (
    Candidate,
    existing_modules,
    known_candidates,
    load_middleware,
    platform_key,
)

TEXT_MAX_CHARS = 128


class ReaderRequest(BaseModel):
    """What the check asks the reader."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    modules: tuple[Candidate, ...] = ()
    known_modules: bool = True
    max_certificates: int = Field(default=16, ge=1, le=64)


class TokenInfo(BaseModel):
    """A token present in a slot."""

    label: str = ""
    serial: str = ""
    manufacturer: str = ""
    model: str = ""


class CertificateInfo(BaseModel):
    """An end-entity certificate read from a token (public object, no login)."""

    holder: str
    issuer: str
    serial: str
    not_after: str  # ISO 8601, UTC
    token_serial: str = ""


class ModuleResult(BaseModel):
    """One PKCS#11 module: did it load, which tokens and certificates it shows."""

    ca: str
    path: str
    loaded: bool = False
    error: str | None = None
    tokens: list[TokenInfo] = Field(default_factory=list)
    certificates: list[CertificateInfo] = Field(default_factory=list)


class ReaderAnswer(BaseModel):
    """The reader's whole answer."""

    available: bool = True
    reason: str | None = None
    modules: list[ModuleResult] = Field(default_factory=list)


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return str(value).replace("\x00", "").strip()[:TEXT_MAX_CHARS]


def _common_name(name: Any) -> str:
    from cryptography.x509.oid import NameOID

    for oid in (NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME):
        attributes = name.get_attributes_for_oid(oid)
        if attributes:
            return _text(attributes[0].value)
    return _text(name.rfc4514_string())


def parse_certificate(der: bytes, token_serial: str = "") -> CertificateInfo | None:
    """Holder, issuer, serial and expiry of a DER certificate; None for a CA's or unreadable one."""
    from cryptography import x509

    try:
        cert = x509.load_der_x509_certificate(der)
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        is_ca = constraints.ca
    except x509.ExtensionNotFound:
        is_ca = False
    except ValueError:  # not DER, or an extension cryptography cannot parse
        return None
    if is_ca:
        return None
    return CertificateInfo(
        holder=_common_name(cert.subject),
        issuer=_common_name(cert.issuer),
        serial=format(cert.serial_number, "X"),
        not_after=cert.not_valid_after_utc.isoformat(),
        token_serial=token_serial,
    )


def read_module(candidate: Candidate, max_certificates: int) -> ModuleResult:
    """Load one module and read its tokens; a failure of the vendor's code is the result's error."""
    import pkcs11
    from pkcs11 import Attribute, ObjectClass, TokenFlag

    result = ModuleResult(ca=candidate.ca, path=candidate.path)
    try:
        lib = pkcs11.lib(candidate.path)
        result.loaded = True
        for slot in lib.get_slots(token_present=True):
            token = slot.get_token()
            if not token.flags & TokenFlag.TOKEN_INITIALIZED:
                continue
            info = TokenInfo(
                label=_text(token.label),
                serial=_text(token.serial),
                manufacturer=_text(token.manufacturer_id),
                model=_text(token.model),
            )
            result.tokens.append(info)
            with token.open() as session:  # read-only, no PIN: public objects only
                for obj in session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE}):
                    if len(result.certificates) >= max_certificates:
                        break
                    cert = parse_certificate(bytes(obj[Attribute.VALUE]), info.serial)
                    if cert is not None:
                        result.certificates.append(cert)
    except Exception as exc:  # noqa: BLE001 - a vendor module fails in its own ways; say how
        result.error = f"{exc.__class__.__name__}: {exc}"[:300]
    return result


def read(request: ReaderRequest, environ: dict[str, str] | None = None) -> ReaderAnswer:
    """Find the modules on this PC and read each; unavailable without python-pkcs11/cryptography."""
    for library, package in (("pkcs11", "python-pkcs11"), ("cryptography", "cryptography")):
        try:
            __import__(library)
        except ImportError:
            return ReaderAnswer(available=False, reason=f"{package} is not installed")
    platform = platform_key(sys.platform)
    candidates: list[Candidate] = []
    if request.known_modules:
        candidates += known_candidates(load_middleware(), platform, environ or dict(os.environ))
    candidates += request.modules
    found = existing_modules(candidates)
    return ReaderAnswer(modules=[read_module(c, request.max_certificates) for c in found])


def main() -> None:
    """Read the request on stdin, print the answer on stdout (ASCII JSON, any console code page)."""
    try:
        request = ReaderRequest.model_validate_json(sys.stdin.buffer.read())
    except ValidationError as exc:
        print(f"bad request: {exc}", file=sys.stderr)
        sys.exit(2)
    answer = read(request)
    sys.stdout.write(json.dumps(answer.model_dump(mode="json"), ensure_ascii=True))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
