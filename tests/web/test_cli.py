"""``commune-monitor users …`` (web/cli.py) on both stores."""

from __future__ import annotations

from sqlalchemy import Engine, select
from typer.testing import CliRunner

from collector.cli_support import cli_actor
from collector.schema import communes
from collector.settings import Settings
from province.cli import app
from tests.fakes import FakeClock
from web import accounts
from web.accounts import Role
from web.login import LoginGuard
from web.schema import audit, users

PASSWORD = "một mật khẩu dài"


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
    token = LoginGuard().login(engine, "quan-tri", PASSWORD, "127.0.0.1", clock.now())
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


def test_users_create_makes_commune_staff_of_known_communes(
    settings: Settings, engine: Engine
) -> None:
    url = settings.effective_database_url
    runner = CliRunner()
    with engine.connect() as conn:
        codes = list(conn.execute(select(communes.c.code).order_by(communes.c.code)).scalars())
    base = ["--database-url", url, "users", "create", "can-bo", "--password", PASSWORD]
    missing = runner.invoke(app, [*base, "--role", "commune"])
    assert missing.exit_code == 2
    assert "communes: a commune user needs" in missing.output
    unknown = runner.invoke(app, [*base, "--role", "commune", "--commune", "99999"])
    assert unknown.exit_code == 2
    assert "99999: not a commune of this collector" in unknown.output
    stray = runner.invoke(app, [*base, "--role", "dost", "--commune", codes[0]])
    assert stray.exit_code == 2
    assert "only commune users have communes" in stray.output
    made = runner.invoke(
        app, [*base, "--role", "commune", "--commune", f"{codes[1]},{codes[0]}", "--commune",
              codes[2]],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert f"communes {codes[0]}, {codes[1]}, {codes[2]}" in made.output
    listed = runner.invoke(app, ["--database-url", url, "users", "list"])
    assert f"can-bo\tcommune\t{codes[0]},{codes[1]},{codes[2]}" in listed.output
    (user,) = [u for u in accounts.list_users(engine) if u.username == "can-bo"]
    assert user.commune_scope == frozenset(codes[:3])
    # The audit log names the account that ran the command.
    with engine.connect() as conn:
        actor = conn.execute(
            select(audit.c.actor).where(audit.c.action == "user_created")
        ).scalar_one()
    assert actor == cli_actor()
