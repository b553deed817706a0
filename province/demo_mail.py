"""The demo's mail (issue 22): a local SMTP sink the collector sends its ticket e-mail to, and the
console's "Hộp thư" page that shows what each owner received, answer links included.

The sink is aiosmtpd on 127.0.0.1 only (nothing leaves the machine), in its own thread, writing
each message into a Maildir in the demo's data folder, so the page reads what was really sent
over SMTP, as a technician's mail client would.
"""

from __future__ import annotations

import mailbox
import socket
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from province.people import people_pages
from province.service import ProvinceService
from web.mailbox import Mail, read_maildir
from web.routes import mailbox as mailbox_page

MAILDIR = "mailbox"
HOST = "127.0.0.1"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


class MailSink:
    """aiosmtpd on 127.0.0.1 writing every message it accepts into ``maildir``."""

    def __init__(self, maildir: Path, port: int | None = None) -> None:
        self.maildir = maildir
        self.port = port or _free_port()
        self._controller: object | None = None

    def start(self) -> MailSink:
        """Listen; returns itself (``port`` says where)."""
        from aiosmtpd.controller import Controller
        from aiosmtpd.handlers import Mailbox

        # Maildir makes its tmp/new/cur itself, only for a folder that does not exist yet.
        self.maildir.parent.mkdir(parents=True, exist_ok=True)
        mailbox.Maildir(self.maildir, create=True)
        controller = Controller(Mailbox(self.maildir), hostname=HOST, port=self.port)
        controller.start()
        self._controller = controller
        return self

    def stop(self) -> None:
        """Stop listening (the messages stay in the Maildir)."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()  # type: ignore[attr-defined]

    def read(self) -> list[Mail]:
        """The newest messages received, newest first."""
        return read_maildir(self.maildir)

    def settings(self) -> dict[str, Any]:
        """The collector's settings that send its e-mail here."""
        return {"smtp_host": HOST, "smtp_port": self.port, "smtp_starttls": False}


def mount_mailbox(app: FastAPI, service: ProvinceService, sink: MailSink) -> None:
    """Add the "Hộp thư" page (``/web/mailbox``) to the demo's application."""
    pages = people_pages(service)
    # The pages of this router show the mailbox in the menu.
    pages.env.globals["mailbox"] = True
    app.include_router(mailbox_page.router(pages, sink.read))
