"""Accounts on both stores (web/accounts.py): checked fields, argon2id hashes, sessions and their
expiry, vendor scope, the demo's users."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from collector.schema import communes
from tests.fakes import FakeClock
from tests.web.support import PASSWORD as PROVINCE_PASSWORD
from tests.web.support import Province
from web import accounts
from web.accounts import Role
from web.errors import LoginRefused
from web.login import LoginGuard
from web.schema import sessions, users

PASSWORD = "một mật khẩu dài"


def test_sessions_expire_and_wrong_passwords_are_refused(engine: Engine) -> None:
    clock = FakeClock()
    guard = LoginGuard()
    accounts.create_user(engine, "dost", PASSWORD, Role.DOST, clock.now())
    with pytest.raises(LoginRefused):
        guard.login(engine, "dost", PASSWORD + "x", "127.0.0.1", clock.now())
    with pytest.raises(LoginRefused):
        guard.login(engine, "nobody", PASSWORD, "127.0.0.1", clock.now())
    token = guard.login(engine, "DOST ", PASSWORD, "127.0.0.1", clock.now())
    assert accounts.session_for(engine, token, clock.now()) is not None
    assert accounts.session_for(engine, "forged", clock.now()) is None
    clock.advance(accounts.SESSION_LIFETIME.total_seconds() + 1)
    assert accounts.session_for(engine, token, clock.now()) is None


def test_passwords_are_stored_as_argon2id_and_sessions_as_digests(engine: Engine) -> None:
    clock = FakeClock()
    accounts.create_user(engine, "quan-tri", PASSWORD, Role.ADMIN, clock.now())
    token = LoginGuard().login(engine, "quan-tri", PASSWORD, "127.0.0.1", clock.now())
    with engine.connect() as conn:
        stored = conn.execute(select(users.c.password_hash)).scalar_one()
        digests = list(conn.execute(select(sessions.c.token_sha256)).scalars())
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PASSWORD not in stored
    assert digests
    assert token not in digests  # a copy of the database opens no session


def test_expired_sessions_are_dropped_when_a_new_one_starts(engine: Engine) -> None:
    clock = FakeClock()
    user = accounts.create_user(engine, "dost", PASSWORD, Role.DOST, clock.now())
    with engine.begin() as conn:
        accounts.start_session(conn, user.id, clock.now())
    clock.advance(accounts.SESSION_LIFETIME.total_seconds() + 1)
    with engine.begin() as conn:
        fresh = accounts.start_session(conn, user.id, clock.now())
    with engine.connect() as conn:
        left = conn.execute(select(sessions.c.expires_at)).scalars().all()
    assert len(left) == 1
    assert accounts.session_for(engine, fresh, clock.now()) is not None


async def test_users_are_created_with_checked_fields(engine: Engine, province: Province) -> None:
    now = province.world.clock.now()
    with pytest.raises(accounts.AccountError, match="password"):
        accounts.create_user(engine, "short", "123", accounts.Role.DOST, now)
    with pytest.raises(accounts.AccountError, match="owner"):
        accounts.create_user(engine, "vendor2", PROVINCE_PASSWORD, accounts.Role.VENDOR, now)
    with pytest.raises(accounts.AccountError, match="already exists"):
        accounts.create_user(engine, "admin", PROVINCE_PASSWORD, accounts.Role.ADMIN, now)
    stored = accounts.list_users(engine)
    assert {u.username for u in stored} == {"admin", "dost", "isp-tech", "printer-tech", "finance"}


def test_user_roles_name_their_vendor_scope() -> None:
    vendor = accounts.User(1, "v", "V", Role.VENDOR, "isp")
    assert vendor.ticket_scope == "isp"
    assert accounts.User(2, "a", "A", Role.ADMIN, None).ticket_scope is None
    assert timedelta(0) < accounts.SESSION_LIFETIME


def test_demo_users_one_per_role_can_log_in(engine: Engine) -> None:
    clock = FakeClock()
    guard = LoginGuard()
    with engine.connect() as conn:
        first = conn.execute(select(communes.c.code).order_by(communes.c.code)).scalars().first()
    assert first is not None
    made = accounts.create_demo_users(engine, clock.now(), [first])
    assert {user.role for user, _ in made} == set(Role)
    assert next(user for user, _ in made if user.role is Role.COMMUNE).communes == (first,)
    for user, password in made:
        token = guard.login(engine, user.username, password, "127.0.0.1", clock.now())
        session = accounts.session_for(engine, token, clock.now())
        assert session is not None
        assert session.user == user
