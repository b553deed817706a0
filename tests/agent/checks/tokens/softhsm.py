"""SoftHSM2 tokens for the tests: a private token directory, certificates as public objects.

SoftHSM2 (Debian ``softhsm2``) is a real PKCS#11 module; its configuration file is named by
``SOFTHSM2_CONF``, so each test gets its own token directory. Certificates are imported in a
child process (python-pkcs11 keeps a module initialised for the life of a process, with the
configuration it first saw), logged in as the token's user, as a CA's issuing software would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.services import missing_service, require_binary

MODULE_PATHS = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
)
USER_PIN = "123456"
PINS = ("--pin", USER_PIN, "--so-pin", "12345678")
_IMPORT = """
import sys
import pkcs11
from cryptography import x509
from pkcs11 import Attribute, CertificateType, ObjectClass
module, label, pin, *files = sys.argv[1:]
token = pkcs11.lib(module).get_token(token_label=label)
with token.open(rw=True, user_pin=pin) as session:
    for number, name in enumerate(files):
        der = open(name, "rb").read()
        cert = x509.load_der_x509_certificate(der)
        session.create_object({
            Attribute.CLASS: ObjectClass.CERTIFICATE,
            Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
            Attribute.TOKEN: True,
            Attribute.PRIVATE: False,
            Attribute.LABEL: f"cert {number}",
            Attribute.VALUE: der,
            Attribute.SUBJECT: cert.subject.public_bytes(),
            Attribute.ISSUER: cert.issuer.public_bytes(),
        })
"""


@dataclass(frozen=True)
class SoftHsm:
    """A SoftHSM2 installation with its own token directory."""

    module: str
    conf: Path
    tokens: Path

    def init_token(self, label: str) -> None:
        """Initialise a token in the first free slot (as a CA's registration office does)."""
        util = require_binary("softhsm2-util")
        subprocess.run(
            [util, "--init-token", "--free", "--label", label, *PINS],
            check=True,
            capture_output=True,
            env={**os.environ, "SOFTHSM2_CONF": str(self.conf)},
            timeout=60,
        )

    def import_certificates(self, label: str, certificates: list[x509.Certificate]) -> None:
        """Store ``certificates`` on token ``label`` as public objects."""
        files = []
        for number, cert in enumerate(certificates):
            path = self.tokens.parent / f"cert{number}.der"
            path.write_bytes(cert.public_bytes(serialization.Encoding.DER))
            files.append(str(path))
        subprocess.run(
            [sys.executable, "-c", _IMPORT, self.module, label, USER_PIN, *files],
            check=True,
            capture_output=True,
            env={**os.environ, "SOFTHSM2_CONF": str(self.conf)},
            timeout=60,
        )


def softhsm(directory: Path) -> SoftHsm:
    """A SoftHSM2 configuration in ``directory`` (skip, or fail under CI=true, if not installed)."""
    require_binary("softhsm2-util")
    module = next((p for p in MODULE_PATHS if os.path.isfile(p)), None)
    if module is None:
        missing_service("the SoftHSM2 PKCS#11 module (Debian package softhsm2)")
    assert module is not None
    try:
        import pkcs11  # noqa: F401 - the reader and the import script need it
    except ImportError:
        missing_service("python-pkcs11")
    tokens = directory / "tokens"
    tokens.mkdir()
    conf = directory / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    return SoftHsm(module, conf, tokens)


def certificate(
    holder: str, days: int, *, issuer: str = "VNPT Certification Authority", ca: bool = False
) -> x509.Certificate:
    """A certificate of ``holder`` that expires ``days`` days from now."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC).replace(microsecond=0)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, holder)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=300))
        .not_valid_after(now + timedelta(days=days))
    )
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
    return builder.sign(key, hashes.SHA256())
