"""Accounts on both stores: the CLI, argon2id hashes, session expiry, migration 0004, catalogue."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, select
from typer.testing import CliRunner

from collector import migrate
from collector.cli import app
from collector.settings import Settings
from tests.fakes import FakeClock
from web import accounts
from web.accounts import Role
from web.errors import LoginRefused, TooManyAttempts
from web.i18n import MESSAGES, translator
from web.render import TEMPLATES
from web.schema import users

PASSWORD = "một mật khẩu dài"
WEB_TABLES = {"web_users", "web_sessions", "web_login_failures", "web_audit"}


def test_users_create_makes_the_first_admin_who_can_log_in(
    settings: Settings, engine: Engine
) -> None:
    url = settings.effective_database_url
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["--database-url", url, "users", "create", "quan-tri", "--role", "admin"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "created user quan-tri (role admin)" in result.output
    with engine.connect() as conn:
        stored = conn.execute(select(users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    clock = FakeClock()
    token = accounts.login(engine, "quan-tri", PASSWORD, "127.0.0.1", clock.now())
    session = accounts.session_for(engine, token, clock.now())
    assert session is not None
    assert session.user.role is Role.ADMIN

    # A vendor needs an owner that routing.yaml knows; the error names the field.
    bad = runner.invoke(
        app,
        ["--database-url", url, "users", "create", "ky-thuat", "--role", "vendor",
         "--owner", "no-such-vendor", "--password", PASSWORD],
    )  # fmt: skip
    assert bad.exit_code == 2
    assert "owner: 'no-such-vendor' is not an owner in routing.yaml" in bad.output
    good = runner.invoke(
        app,
        ["--database-url", url, "users", "create", "ky-thuat", "--role", "vendor",
         "--owner", "isp", "--password", PASSWORD],
    )  # fmt: skip
    assert good.exit_code == 0, good.output
    listed = runner.invoke(app, ["--database-url", url, "users", "list"])
    assert "ky-thuat\tvendor\tisp" in listed.output


def test_sessions_expire_and_wrong_passwords_are_refused(engine: Engine) -> None:
    clock = FakeClock()
    accounts.create_user(engine, "dost", PASSWORD, Role.DOST, clock.now())
    with pytest.raises(LoginRefused):
        accounts.login(engine, "dost", PASSWORD + "x", "127.0.0.1", clock.now())
    with pytest.raises(LoginRefused):
        accounts.login(engine, "nobody", PASSWORD, "127.0.0.1", clock.now())
    token = accounts.login(engine, "DOST ", PASSWORD, "127.0.0.1", clock.now())
    assert accounts.session_for(engine, token, clock.now()) is not None
    assert accounts.session_for(engine, "forged", clock.now()) is None
    clock.advance(accounts.SESSION_LIFETIME.total_seconds() + 1)
    assert accounts.session_for(engine, token, clock.now()) is None


def test_many_failures_from_one_address_are_limited_across_accounts(engine: Engine) -> None:
    clock = FakeClock()
    for i in range(accounts.MAX_FAILURES_PER_CLIENT):
        with pytest.raises(LoginRefused):
            accounts.login(engine, f"guess-{i}", "wrong", "10.9.9.9", clock.now())
    accounts.create_user(engine, "admin", PASSWORD, Role.ADMIN, clock.now())
    with pytest.raises(TooManyAttempts):
        accounts.login(engine, "admin", PASSWORD, "10.9.9.9", clock.now())
    # Another address is not blocked, and the window passes.
    assert accounts.login(engine, "admin", PASSWORD, "127.0.0.1", clock.now())
    clock.advance(accounts.FAILURE_WINDOW.total_seconds() + 1)
    assert accounts.login(engine, "admin", PASSWORD, "10.9.9.9", clock.now())


def test_migration_0004_matches_the_tables_and_downgrades(engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, users.metadata)
    mentioned = [change for change in diff if any(t in repr(change) for t in WEB_TABLES)]
    assert mentioned == []
    config = migrate.alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0003")
    assert WEB_TABLES.isdisjoint(inspect(engine).get_table_names())
    migrate.upgrade(engine)
    assert set(inspect(engine).get_table_names()) >= WEB_TABLES


def test_every_word_the_templates_use_is_in_both_languages() -> None:
    used: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_]+)["']""", template.read_text()))
        # Keys built from a prefix: status_*, state_*, role_*, health_*, action_*.
        for prefix in re.findall(r"""t\(\s*["']([a-z]+_)["']\s*~""", template.read_text()):
            assert any(key.startswith(prefix) for key in MESSAGES), prefix
    missing = {key for key in used if not key.endswith("_")} - MESSAGES.keys()
    assert not missing
    for key, (vi, en) in MESSAGES.items():
        assert vi.strip(), key
        assert en.strip(), key
    assert translator("vi")("status_down") == "Mất kết nối"
    assert translator("en")("status_down") == "Down"
    assert len(used) > 60


def test_user_roles_name_their_vendor_scope() -> None:
    vendor = accounts.User(1, "v", "V", Role.VENDOR, "isp")
    assert vendor.ticket_scope == "isp"
    assert accounts.User(2, "a", "A", Role.ADMIN, None).ticket_scope is None
    assert timedelta(0) < accounts.FAILURE_WINDOW


def test_demo_users_one_per_role_can_log_in(engine: Engine) -> None:
    clock = FakeClock()
    made = accounts.create_demo_users(engine, clock.now())
    assert {user.role for user, _ in made} == set(Role)
    for user, password in made:
        token = accounts.login(engine, user.username, password, "127.0.0.1", clock.now())
        session = accounts.session_for(engine, token, clock.now())
        assert session is not None
        assert session.user == user
