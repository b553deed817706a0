"""Enrolment against the real collector (SQLite and PostgreSQL) and the stored identity file."""

from __future__ import annotations

import json
import ssl
import stat
from pathlib import Path

import pytest
import trustme
from sqlalchemy import Engine

from agent.errors import EnrolError, IdentityUnreadable, NotEnrolled
from agent.identity import enrol, load_identity
from agent.settings import tls_context
from collector import agents
from collector.settings import Settings
from tests.agent.support import agent_settings, enrol_token, first_commune, in_process_collector
from tests.services import free_port


async def test_enrol_stores_a_private_identity_the_collector_accepts(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    async with in_process_collector(engine, settings) as collector:
        identity = await collector.enrol(tmp_path)
    path = tmp_path / "identity.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert identity.commune_code == first_commune(engine)
    assert identity.server_url == "http://collector"
    assert identity.hostname == "quay-1"
    token = identity.agent_token.get_secret_value()
    # The token in the file is the one the collector knows; repr and str keep it masked.
    assert agents.authenticate(engine, token).agent_id == identity.agent_id
    assert token not in repr(identity)
    assert json.loads(path.read_text())["agent_token"] == token
    assert load_identity(path) == identity


async def test_an_enrolment_token_works_once(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    token = enrol_token(engine)
    async with in_process_collector(engine, settings) as collector:
        first = await enrol(
            collector.base_url, token, path=tmp_path / "a.json", transport=collector.transport
        )
        with pytest.raises(EnrolError, match="already used") as refused:
            await enrol(
                collector.base_url, token, path=tmp_path / "b.json", transport=collector.transport
            )
    assert refused.value.status == 409
    assert not (tmp_path / "b.json").exists()
    # The first agent is untouched by the refused second use.
    assert load_identity(tmp_path / "a.json").agent_id == first.agent_id
    assert [row.agent_id for row in agents.list_agents(engine)] == [first.agent_id]


async def test_unknown_token_is_refused_with_401(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    async with in_process_collector(engine, settings) as collector:
        with pytest.raises(EnrolError, match="HTTP 401: unknown enrolment token") as refused:
            await enrol(
                collector.base_url,
                "enr_made-up-token",
                path=tmp_path / "identity.json",
                transport=collector.transport,
            )
    assert refused.value.status == 401
    assert not (tmp_path / "identity.json").exists()


@pytest.mark.parametrize(
    ("server", "token", "field", "message"),
    [
        ("ftp://collector", "enr_12345678", "server", "--server"),
        ("https://user:pw@collector", "enr_12345678", "server", "user name or password"),
        ("http://collector", "short", "token", "at least 8 characters"),
    ],
)
async def test_bad_input_is_refused_before_any_request(
    tmp_path: Path, server: str, token: str, field: str, message: str
) -> None:
    with pytest.raises(EnrolError, match=message) as refused:
        await enrol(server, token, path=tmp_path / "identity.json")
    assert refused.value.field == field
    assert not (tmp_path / "identity.json").exists()


async def test_unreachable_collector_is_named(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(EnrolError, match=f"cannot reach {url}"):
        await enrol(url, "enr_12345678", path=tmp_path / "identity.json", http_timeout=5)


def test_missing_identity_says_how_to_enrol(tmp_path: Path) -> None:
    with pytest.raises(NotEnrolled, match="commune-agent enrol --server URL --token TOKEN"):
        load_identity(tmp_path / "identity.json")


def test_invalid_identity_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "identity.json"
    path.write_text(json.dumps({"agent_id": "ag_1", "server_url": "http://x"}))
    with pytest.raises(IdentityUnreadable, match="agent_token: Field required"):
        load_identity(path)
    path.write_text("{not json")
    with pytest.raises(IdentityUnreadable, match="enrol again with --force"):
        load_identity(path)


async def test_loosened_identity_file_is_restricted_again(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    async with in_process_collector(engine, settings) as collector:
        await collector.enrol(tmp_path)
    path = tmp_path / "identity.json"
    path.chmod(0o644)
    load_identity(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_tls_verification_is_on_and_can_pin_a_ca(tmp_path: Path) -> None:
    system = tls_context(agent_settings(tmp_path))
    assert system.verify_mode == ssl.CERT_REQUIRED
    assert system.check_hostname

    off = tls_context(agent_settings(tmp_path, verify_tls=False))
    assert off.verify_mode == ssl.CERT_NONE
    assert not off.check_hostname

    ca = trustme.CA(organization_name="pinned test CA")
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    pinned = tls_context(agent_settings(tmp_path), tmp_path / "ca.pem")
    # Only the pinned CA is trusted, not the system store as well.
    trusted = pinned.get_ca_certs()
    assert len(trusted) == 1
    assert ("organizationName", "pinned test CA") in [
        name for rdn in trusted[0]["subject"] for name in rdn
    ]
    assert pinned.verify_mode == ssl.CERT_REQUIRED
    # The settings' ca_file wins over the one stored at enrolment.
    other = trustme.CA(organization_name="settings CA")
    other.cert_pem.write_to_path(str(tmp_path / "other.pem"))
    by_settings = tls_context(
        agent_settings(tmp_path, ca_file=tmp_path / "other.pem"), tmp_path / "ca.pem"
    )
    assert ("organizationName", "settings CA") in [
        name for rdn in by_settings.get_ca_certs()[0]["subject"] for name in rdn
    ]

    with pytest.raises(FileNotFoundError, match="ca_file"):
        tls_context(agent_settings(tmp_path), tmp_path / "missing.pem")
