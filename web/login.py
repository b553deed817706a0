"""Console logins: every attempt counted against the limits before a password is hashed, at most
a few argon2 checks at once, and the same check for unknown users as for real ones.

Issue 20, item 4 measured the old login: 40 concurrent wrong passwords for one user were all
verified (the limit was read before, and the failure written after, a 64 MiB argon2 check),
unknown users answered in 5-14 ms against 230-490 ms for real ones, and five wrong passwords from
anyone locked any account. Here:

* **Reserve, then hash.** One short transaction prunes old failures, counts the recent ones and
  inserts this attempt as a failure, all under one lock (PostgreSQL: a transaction-scoped
  advisory lock; SQLite: the prune ``DELETE`` is the transaction's first statement, so it holds
  SQLite's single write lock from its start). Concurrent attempts therefore see each other's
  rows: of 40 at once, only the limit's worth get past. A right password then deletes the row
  (and the account-and-address pair's earlier failures); a wrong one leaves it counted.
* **Limits per key** (``LoginLimits``): an outsider's failures lock only that outsider out of
  that account; a larger limit per address across accounts stops password spraying; a limit per
  account across addresses stops a distributed guess, set so high that one address (at most
  ``per_account_client`` failures for an account) cannot reach it.
* **Bounded argon2** (``PasswordCheck``): each check holds 64 MiB (RFC 9106's second profile),
  so at most ``slots`` run at once; others wait up to ``wait_seconds`` (at most ``max_waiting``
  of them) and are otherwise refused with ``LoginBusy`` (503 with Retry-After).
* **Unknown and disabled users** are checked against a dummy hash made with the same
  parameters, so the answer takes as long as for a real account.
"""

from __future__ import annotations

import math
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, Connection, Engine, delete, func, insert, select, text, update

from web import accounts
from web.errors import LoginBusy, LoginRefused, TooManyAttempts
from web.schema import login_failures, users

# The key of PostgreSQL's advisory lock that serialises login reservations ('cm_login' in ASCII).
ADVISORY_LOCK_KEY = 0x636D5F6C6F67696E


@dataclass(frozen=True, slots=True)
class LoginLimits:
    """How many failed logins the window allows for each key.

    * ``per_account_client`` 5: a person who mistypes gets five tries; an outsider guessing
      one account from one address gets five per window, and locks out only themselves.
    * ``per_client`` 20: one address guessing across accounts (password spraying).
    * ``per_account`` 50: one account guessed from many addresses. One address can add at most
      5 failures to an account, so locking an admin out takes ten addresses (ten /64 networks
      for IPv6) within the window; below that, at most 50 guesses per 15 minutes reach an
      account, which against a 10-character minimum password is no real chance.
    * ``prune_batch``: failures older than the window deleted per attempt (so a table grown by
      an attack shrinks over the next attempts without one long delete).
    """

    window: timedelta = timedelta(minutes=15)
    per_account_client: int = 5
    per_client: int = 20
    per_account: int = 50
    prune_batch: int = 500


class PasswordCheck:
    """argon2id checks, at most ``slots`` at once (each holds the hash's memory, 64 MiB).

    A check waits up to ``wait_seconds`` for a slot, with at most ``max_waiting`` others; past
    either bound it raises ``LoginBusy``. The wait is the wall-clock timeout of a semaphore
    (threads wait for each other, not for a time of day), hence no injected clock here.
    """

    def __init__(
        self,
        hasher: PasswordHasher | None = None,
        *,
        slots: int = 2,
        wait_seconds: float = 3.0,
        max_waiting: int = 8,
        retry_after: int = 2,
    ) -> None:
        self.hasher = hasher or PasswordHasher()
        self.slots = slots
        self.wait_seconds = wait_seconds
        self.max_waiting = max_waiting
        self.retry_after = retry_after
        self._semaphore = threading.BoundedSemaphore(slots)
        self._lock = threading.Lock()
        self._waiting = 0
        self._running = 0
        self._dummy: str | None = None

    @property
    def running(self) -> int:
        """Checks running now."""
        return self._running

    @property
    def waiting(self) -> int:
        """Checks waiting for a slot now."""
        return self._waiting

    def _acquire(self) -> None:
        if self._semaphore.acquire(blocking=False):
            return
        with self._lock:
            if self._waiting >= self.max_waiting:
                raise LoginBusy(self.retry_after, self._running)
            self._waiting += 1
        try:
            acquired = self._semaphore.acquire(timeout=self.wait_seconds)
        finally:
            with self._lock:
                self._waiting -= 1
        if not acquired:
            raise LoginBusy(self.retry_after, self._running)

    @contextmanager
    def _slot(self) -> Iterator[None]:
        self._acquire()
        with self._lock:
            self._running += 1
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
            self._semaphore.release()

    def _dummy_hash(self) -> str:
        # Made once, on first need, with this hasher's parameters: an unknown user's check then
        # costs what a real user's does. Called inside a slot, so it is bounded like a check; two
        # first checks at once may each make one, and either serves.
        if self._dummy is None:
            self._dummy = self.hasher.hash(secrets.token_urlsafe(16))
        return self._dummy

    def verify(self, stored: str | None, password: str) -> bool:
        """Whether ``password`` matches ``stored``; with no stored hash, the same work against a
        dummy hash, then False."""
        with self._slot():
            target = stored if stored is not None else self._dummy_hash()
            try:
                matched: bool = self.hasher.verify(target, password)
            except (VerificationError, InvalidHashError):
                matched = False
        return matched and stored is not None

    def rehash_if_needed(self, stored: str, password: str) -> str | None:
        """A new hash of ``password`` when ``stored`` has weaker parameters than this hasher."""
        if not self.hasher.check_needs_rehash(stored):
            return None
        with self._slot():
            return self.hasher.hash(password)


def normalised_username(username: str) -> str:
    """The account name as stored: trimmed, lower case, at most 64 characters."""
    return username.strip().lower()[:64]


def _lock_for_reservation(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
    # SQLite: the prune below is the first statement, a DELETE: it takes the write lock.


def _recent(conn: Connection, where: ColumnElement[bool], since: datetime) -> tuple[int, Any]:
    row = conn.execute(
        select(func.count(), func.min(login_failures.c.at)).where(
            where, login_failures.c.at > since
        )
    ).one()
    return int(row[0]), row[1]


class LoginGuard:
    """Logs users in under the limits; one per console (it holds the argon2 slots)."""

    def __init__(
        self, limits: LoginLimits | None = None, passwords: PasswordCheck | None = None
    ) -> None:
        self.limits = limits or LoginLimits()
        self.passwords = passwords or PasswordCheck()

    def prune(self, conn: Connection, now: datetime) -> int:
        """Delete up to ``prune_batch`` failures older than the window; how many went."""
        oldest = (
            select(login_failures.c.id)
            .where(login_failures.c.at <= now - self.limits.window)
            .order_by(login_failures.c.id)
            .limit(self.limits.prune_batch)
        )
        result = conn.execute(delete(login_failures).where(login_failures.c.id.in_(oldest)))
        return int(result.rowcount)

    def _refusal(
        self, conn: Connection, username: str, client: str, now: datetime
    ) -> TooManyAttempts | None:
        since = now - self.limits.window
        checks = (
            ("account and address", self.limits.per_account_client,
             (login_failures.c.username == username) & (login_failures.c.client == client)),
            ("address", self.limits.per_client, login_failures.c.client == client),
            ("account", self.limits.per_account, login_failures.c.username == username),
        )  # fmt: skip
        for name, limit, where in checks:
            count, oldest = _recent(conn, where, since)
            if count >= limit:
                # Once the oldest of them leaves the window, one more attempt is counted.
                wait = (oldest + self.limits.window - now).total_seconds()
                return TooManyAttempts(max(1, math.ceil(wait)), name)
        return None

    def reserve(self, engine: Engine, username: str, client: str, now: datetime) -> int:
        """Count this attempt as a failure before any hashing; its row id. Raises
        ``TooManyAttempts`` (and counts nothing) when a limit is already spent."""
        with engine.begin() as conn:
            _lock_for_reservation(conn)
            self.prune(conn, now)
            refusal = self._refusal(conn, username, client, now)
            if refusal is None:
                inserted = conn.execute(
                    insert(login_failures).values(username=username, client=client, at=now)
                ).inserted_primary_key
        # Raised after the commit, so the prune is kept even when every attempt is refused.
        if refusal is not None:
            raise refusal
        assert inserted is not None
        return int(inserted[0])

    def _release(self, engine: Engine, attempt: int) -> None:
        with engine.begin() as conn:
            conn.execute(delete(login_failures).where(login_failures.c.id == attempt))

    def login(
        self, engine: Engine, username: str, password: str, client: str, now: datetime
    ) -> str:
        """Check the password and open a session; returns the session token (the cookie's value).

        Raises ``TooManyAttempts`` before any hashing once a limit is spent, ``LoginBusy`` when no
        argon2 slot frees in time (the attempt is then not counted), ``LoginRefused`` otherwise.
        """
        username, client = normalised_username(username), client[:64]
        attempt = self.reserve(engine, username, client, now)
        with engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.username == username)).first()
        try:
            matched = self.passwords.verify(row.password_hash if row else None, password)
            rehashed = (
                self.passwords.rehash_if_needed(row.password_hash, password)
                if row is not None and matched and not row.disabled
                else None
            )
        except LoginBusy:
            self._release(engine, attempt)
            raise
        if row is None or row.disabled or not matched:
            accounts.write_audit(engine, now, username, "login_failed", client)
            raise LoginRefused()
        with engine.begin() as conn:
            # A right password: this attempt and the pair's earlier failures no longer count.
            conn.execute(
                delete(login_failures).where(
                    login_failures.c.username == username, login_failures.c.client == client
                )
            )
            if rehashed is not None:
                conn.execute(
                    update(users).where(users.c.id == row.id).values(password_hash=rehashed)
                )
            token = accounts.start_session(conn, int(row.id), now)
            accounts.record(conn=conn, at=now, actor=username, action="login", target=client)
        return token
