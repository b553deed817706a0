"""``commune-monitor demo`` shows what people receive (issue 22): run as a user runs it, its
collector's e-mail reaches the local sink, every delivery succeeds, and the "Hộp thư" page lists
each owner's messages with answer links that work."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.services import free_port
from web.mailbox import read_maildir

DEADLINE_SECONDS = 180.0

pytestmark = pytest.mark.slow


def _wait_for(condition: object, what: str, proc: subprocess.Popen[bytes], out: Path) -> None:
    """Poll until the demo has done the work (waiting for work, not for a time)."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"demo exited early:\n{out.read_text()}"
        if callable(condition) and condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}:\n{out.read_text()}")


def _login(client: httpx.Client, username: str, password: str) -> dict[str, str]:
    """Log in through the form; the session cookie as a header (it is Secure: over plain HTTP
    on 127.0.0.1 the client's jar would not send it, a browser does)."""
    form = client.get("/web/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    answer = client.post(
        "/web/login",
        data={"csrf_token": token.group(1), "username": username, "password": password},
        headers={"Cookie": f"cm_login_csrf={form.cookies['cm_login_csrf']}"},
    )
    assert answer.status_code == 303, answer.text
    return {"Cookie": f"cm_session={answer.cookies['cm_session']}"}


def test_the_demo_mailbox_shows_each_owner_its_messages_and_links_work(tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "demo"
    out = tmp_path / "out.txt"
    command = [sys.executable, "-m", "province", "demo", "--communes", "3"]
    command += ["--backfill-days", "1", "--speed", "120", "--port", str(port)]
    command += ["--data-dir", str(data)]
    with out.open("wb") as sink:
        proc = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(lambda: "Ctrl-C" in out.read_text(), "the live run", proc, out)
        mailbox = data / "mailbox"
        # The scenario's first faults raise tickets within seconds; their owners are told.
        _wait_for(lambda: len(read_maildir(mailbox)) >= 3, "messages in the sink", proc, out)
        text = out.read_text()
        assert f"{url}/web/mailbox" in text
        passwords = dict(re.findall(r"^\s+\w+\s+(\S+)\s+mật khẩu / password: (\S+)$", text, re.M))
        assert {"admin", "isp-tech", "can-bo-xa"} <= set(passwords)
        admin = re.search(r"admin token:\s+(\S+)", text)  # rich may wrap the line there
        assert admin is not None
        bearer = {"Authorization": f"Bearer {admin.group(1)}"}
        with httpx.Client(base_url=url, timeout=20) as client:
            cookie = _login(client, "admin", passwords["admin"])
            page = client.get("/web/mailbox", headers=cookie)
            assert page.status_code == 200
            mails = read_maildir(mailbox)
            boxes = set(re.findall(r'data-box="([^"]+)"', page.text))
            assert boxes <= {address for mail in read_maildir(mailbox) for address in mail.to}
            assert boxes >= {address for mail in mails for address in mail.to}
            # A problem reported by the hotline stays open until a person acts: its owner's
            # message arrives with links, and the acknowledge link works once, with no login.
            commune = client.get("/api/v1/agents", headers=bearer).json()[0]["commune_code"]
            report = {
                "commune_code": commune,
                "category": "other",
                "description": "Màn hình quầy 1 không lên",
                "reporter_name": "Tổng đài",
                "reporter_phone": "0226 3851 234",
            }
            reported = client.post("/api/v1/tickets", headers=bearer, json=report)
            assert reported.status_code == 201, reported.text
            ticket = reported.json()["ticket"]["id"]

            def told() -> bool:
                return any(f"#{ticket} " in m.subject and m.links for m in read_maildir(mailbox))

            _wait_for(told, f"the message of ticket #{ticket}", proc, out)
            mail = next(m for m in read_maildir(mailbox) if f"#{ticket} " in m.subject)
            ack = next(link for label, link in mail.links if "Acknowledge" in label)
            path = ack.removeprefix(url)
            assert client.post(path).status_code == 200
            state = client.get(f"/api/v1/tickets/{ticket}", headers=bearer).json()["state"]
            assert state == "acknowledged"
            assert client.post(path).status_code == 409
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = (data / "demo.log").read_text(encoding="utf-8")
    # Every message reached the sink: no failed attempt in the demo's log.
    assert "notification not delivered" not in log
