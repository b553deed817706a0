"""Certificates that stop signing or reaching a system (issue 23), for the signing detector.

- ``signing_cert_expiring``: a certificate on a USB token (``signing_cert_expiry_days``) expires
  within ``signing.cert_days``: one incident per certificate (key: commune and serial) whichever
  PC the token is plugged into, naming its holder; ended when the holder shows a certificate far
  from expiry (renewed or replaced: "replaced by" keeps the old token, still plugged in
  somewhere, from reopening it), never because a token was unplugged;
- ``tls_cert_expiring``: a central system's TLS certificate (``probe_tls_cert_expiry_days``)
  expires within ``signing.tls_cert_days``: one incident per system and probe target, for its
  vendor (routing.yaml ``systems:``).

An incident already open is only rewritten when its whole days left change, not at every report.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from agent.vntime import local_date
from alerts import incidents
from alerts.desk import Desk, Symptom
from alerts.observations import HeldCertificate, TlsCertReading, TokenReading
from alerts.rules import Rules
from alerts.schema import incidents as incident_rows

CERT_CLASS = "signing_cert_expiring"
_Pc = tuple[str, str]  # (commune code, device id)


def days_left(value: float) -> int:
    """Whole days left, as a person counts them (an expired certificate is negative)."""
    return math.floor(value)


def _expires_on(at: datetime, days: float) -> str:
    return local_date(at + timedelta(days=days)).strftime("%d/%m/%Y")


class Certificates:
    """Token certificates and central TLS certificates, through the desk."""

    def __init__(self, desk: Desk, rules: Rules) -> None:
        self.desk = desk
        self.rules = rules

    def tokens(self, conn: Connection, readings: list[TokenReading], now: datetime) -> None:
        """Judge the certificates of each PC's newest token round in the batch."""
        newest: dict[_Pc, TokenReading] = {}
        for reading in readings:
            # Only a round that read the certificates (signing_cert_count) says which it holds.
            if not reading.available or not reading.counted:
                continue
            pc = (reading.commune_code, reading.device_id)
            if pc not in newest or newest[pc].at <= reading.at:
                newest[pc] = reading
        if not newest:
            return
        keys = {
            _cert_key(reading.commune_code, cert.serial)
            for reading in newest.values()
            for cert in reading.certificates
        }
        latest = incidents.latest_many(conn, keys)
        open_by_commune: dict[str, list[Any]] = {}
        for row in conn.execute(
            select(incident_rows).where(
                incident_rows.c.problem_class == CERT_CLASS,
                incident_rows.c.active.is_(True),
                incident_rows.c.commune_code.in_({pc[0] for pc in newest}),
            )
        ):
            open_by_commune.setdefault(row.commune_code, []).append(row)
        ended: set[str] = set()
        for reading in newest.values():
            self._judge_certificates(conn, reading, latest, ended, now)
            found = open_by_commune.get(reading.commune_code, [])
            self._end_replaced(conn, reading, found, ended, now)

    def _judge_certificates(
        self,
        conn: Connection,
        reading: TokenReading,
        latest: dict[str, Any],
        ended: set[str],
        now: datetime,
    ) -> None:
        limit = self.rules.signing.cert_days
        best = _best_by_holder(reading.certificates)
        for cert in reading.certificates:
            key = _cert_key(reading.commune_code, cert.serial)
            row = latest.get(key)
            renewal = best[cert.holder]
            renewed = renewal.serial != cert.serial and renewal.days_left > limit
            if cert.days_left > limit or renewed:
                if row is not None and row.active and key not in ended:
                    if renewed:
                        note = ("replaced by", _replaced(renewal))
                    else:
                        note = ("renewed", f"{days_left(cert.days_left)} days left")
                    self._end_certificate(conn, row, *note, reading.at, now)
                    ended.add(key)
                continue
            evidence = json.loads(row.evidence) if row is not None else {}
            if row is not None and not row.active and "replaced by" in evidence:
                continue  # the holder has a new certificate; this old token is not in use
            if (
                row is not None
                and row.active
                and evidence.get("days left") == days_left(cert.days_left)
                and evidence.get("seen on") == reading.device_id
            ):
                continue  # nothing new since the last report: no write
            self.desk.raise_(conn, _cert_symptom(reading, cert), now)

    def _end_replaced(
        self,
        conn: Connection,
        reading: TokenReading,
        rows: list[Any],
        ended: set[str],
        now: datetime,
    ) -> None:
        """End the open certificate tickets of holders this token shows with a new certificate."""
        limit = self.rules.signing.cert_days
        best = _best_by_holder(reading.certificates)
        for row in rows:
            if row.key in ended:
                continue
            evidence = json.loads(row.evidence)
            renewal = best.get(str(evidence.get("holder", "")))
            if renewal is None or renewal.serial == evidence.get("serial"):
                continue
            if renewal.days_left > limit:
                self._end_certificate(conn, row, "replaced by", _replaced(renewal), reading.at, now)
                ended.add(row.key)

    def _end_certificate(
        self, conn: Connection, row: Any, why: str, note: str, at: datetime, now: datetime
    ) -> None:
        """End a certificate's incident, saying why ("replaced by" keeps it from coming back)."""
        incidents.update_values(
            conn, row.id, evidence=incidents.merge_evidence(row.evidence, {why: note})
        )
        self.desk.end_key(conn, row.key, at, now)

    def tls(self, conn: Connection, readings: list[TlsCertReading], now: datetime) -> None:
        """Judge the newest TLS certificate of each central system's probe target."""
        newest: dict[tuple[str, str], TlsCertReading] = {}
        for reading in readings:
            slot = (reading.system.id, reading.target)
            if slot not in newest or newest[slot].at <= reading.at:
                newest[slot] = reading
        latest = incidents.latest_many(conn, {_tls_key(*slot) for slot in newest})
        limit = self.rules.signing.tls_cert_days
        for slot, reading in sorted(newest.items()):
            key = _tls_key(*slot)
            row = latest.get(key)
            if reading.days_left > limit:
                if row is not None and row.active:
                    self.desk.end_key(conn, key, reading.at, now)
                continue
            if (
                row is not None
                and row.active
                and json.loads(row.evidence).get("days left") == days_left(reading.days_left)
            ):
                continue
            self.desk.raise_(conn, _tls_symptom(reading), now)


def _cert_key(commune: str, serial: str) -> str:
    return f"{CERT_CLASS}:{commune}:{serial}"


def _tls_key(system: str, target: str) -> str:
    return f"tls_cert_expiring:{system}:{target}"


def _best_by_holder(certificates: list[HeldCertificate]) -> dict[str, HeldCertificate]:
    """Each holder's certificate furthest from expiry on this token."""
    best: dict[str, HeldCertificate] = {}
    for cert in certificates:
        if cert.holder not in best or best[cert.holder].days_left < cert.days_left:
            best[cert.holder] = cert
    return best


def _replaced(renewal: HeldCertificate) -> str:
    return f"serial {renewal.serial} ({renewal.issuer}), {days_left(renewal.days_left)} days left"


def _cert_symptom(reading: TokenReading, cert: HeldCertificate) -> Symptom:
    expires = _expires_on(reading.at, cert.days_left)
    holder = cert.holder or "?"
    return Symptom(
        key=_cert_key(reading.commune_code, cert.serial),
        problem_class=CERT_CLASS,
        commune_code=reading.commune_code,
        device_id=reading.device_id,
        device_kind="pc",
        signal=f"signing_cert_expiry_days serial={cert.serial}"[:100],
        started_at=reading.at,
        evidence={
            "holder": cert.holder,
            "issuer": cert.issuer,
            "serial": cert.serial,
            "days left": days_left(cert.days_left),
            "expires on": expires,
            "seen on": reading.device_id,
        },
        signal_vi=f"chứng thư số của {holder} ({cert.issuer}) hết hạn ngày {expires}; "
        "cần làm thủ tục gia hạn với nhà cung cấp ngay (mất vài ngày)",
        signal_en=f"the signing certificate of {holder} ({cert.issuer}) expires on {expires}; "
        "ask the CA to renew it now (renewal takes days)",
    )


def _tls_symptom(reading: TlsCertReading) -> Symptom:
    expires = _expires_on(reading.at, reading.days_left)
    host = reading.host or reading.target
    return Symptom(
        key=_tls_key(reading.system.id, reading.target),
        problem_class="tls_cert_expiring",
        commune_code=None,
        device_id=None,
        device_kind=None,
        signal=f"probe_tls_cert_expiry_days target={reading.target}"[:100],
        started_at=reading.at,
        evidence={
            "host": host,
            "days left": days_left(reading.days_left),
            "expires on": expires,
            "seen from": f"{reading.device_id} ({reading.commune_code})",
        },
        signal_vi=f"chứng thư TLS của {host} hết hạn ngày {expires}; khi hết hạn các xã "
        "không truy cập được hệ thống",
        signal_en=f"the TLS certificate of {host} expires on {expires}; once expired the "
        "communes cannot reach the system",
        system=reading.system.id,
        system_vi=reading.system.name_vi,
        system_en=reading.system.name_en,
    )
