"""A small province for console tests: fed through the real ingest path, with one user per role.

The store holds a commune whose link is cut (a ``site_outage`` ticket for the ISP), a commune
with a full disk (``device_health`` for the commune's IT officer) and a jammed printer (the
printer vendor's ticket), an asset register for finance, and the users ``admin``, ``dost``,
``isp-tech`` (vendor of owner ``isp``), ``printer-tech`` (vendor of ``printer-vendor``) and
``finance``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, select

from alerts.routing import load_routing
from alerts.schema import tickets
from collector.communes import BUNDLED_UNITS
from collector.settings import Settings
from inventory.register_io import register_sheet
from inventory.sample_register import generate_register
from inventory.store import import_register
from inventory.tables import to_xlsx
from province.app import create_app
from province.service import build_service
from tests.alerts.support import (
    HEARTBEAT,
    World,
    pc,
    printer,
    router,
    routing_with_isp_token,
)
from tests.conftest import TEST_PROVINCE
from web import accounts
from web.accounts import Role

PASSWORD = "mật-khẩu-đủ-dài"
DAY = 24 * 3600
BASE = "https://collector"  # https: the session cookie is Secure
USERS: dict[str, tuple[Role, str | None]] = {
    "admin": (Role.ADMIN, None),
    "dost": (Role.DOST, None),
    "isp-tech": (Role.VENDOR, "isp"),
    "printer-tech": (Role.VENDOR, "printer-vendor"),
    "finance": (Role.FINANCE, None),
}


@dataclass
class Province:
    """The fed store and what the tests look for in it."""

    world: World
    cut: str  # the commune whose link is down
    other: str  # a commune that reports, with a full disk and a jammed printer
    routing_file: Path

    def ticket_ids(self, owner: str) -> list[int]:
        """The ids of ``owner``'s tickets."""
        with self.world.engine.connect() as conn:
            return list(
                conn.execute(
                    select(tickets.c.id).where(tickets.c.owner == owner).order_by(tickets.c.id)
                ).scalars()
            )

    def ticket_state(self, ticket_id: int) -> str:
        """A ticket's state as stored."""
        with self.world.engine.connect() as conn:
            return str(
                conn.execute(select(tickets.c.state).where(tickets.c.id == ticket_id)).scalar_one()
            )


def build_province(engine: Engine, tmp_path: Path) -> Province:
    """Feed the store: agents report through the journal and processor, then one link is cut."""
    routing_file = routing_with_isp_token(tmp_path)
    world = World(engine, routing=load_routing(routing_file))
    cut, other = world.communes[0], world.communes[1]
    for i in range(2):
        world.enrol(cut, [pc(f"{cut}-PC-{i}")])
    world.enrol(cut, [router(f"{cut}-RT")])
    world.enrol(other, [pc(f"{other}-PC-0", disk=97.0)])
    world.enrol(other, [router(f"{other}-RT"), printer(f"{other}-PR", jammed=True, level=12.0)])
    world.tick()
    # The cut commune's agents keep measuring but cannot send: silent to the collector.
    for _ in range(3):
        world.tick(cut=frozenset({cut}))
    assets = generate_register(BUNDLED_UNITS, TEST_PROVINCE, seed=7, max_communes=3)
    import_register(
        engine,
        to_xlsx([register_sheet(assets)]),
        filename="register.xlsx",
        now=world.clock.now(),
    )
    for username, (role, owner) in USERS.items():
        accounts.create_user(engine, username, PASSWORD, role, world.clock.now(), owner=owner)
    return Province(world, cut, other, routing_file)


def console_app(settings: Settings, province: Province) -> object:
    """The collector's ASGI app (with the console) over the fed store, on the world's clock."""
    settings = settings.model_copy(
        update={
            "alerts_routing_file": province.routing_file,
            "run_processor": False,
            "heartbeat_seconds": HEARTBEAT,
        }
    )
    service = build_service(settings, clock=province.world.clock, engine=province.world.engine)
    return create_app(service)


def csrf_token(html: str) -> str:
    """The CSRF token of a page's form."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


async def login(http: httpx.AsyncClient, username: str, password: str = PASSWORD) -> Any:
    """Log in through the form (with its double-submit CSRF token); the answer."""
    form = await http.get("/web/login")
    return await http.post(
        "/web/login",
        data={"csrf_token": csrf_token(form.text), "username": username, "password": password},
    )


def feed_a_day(province: Province) -> str:
    """A day later, the reporting commune's PC sends a day of reports (one per heartbeat): its
    disk at 50 % for twelve hours, then 90 %. Through the journal and the processor."""
    world = province.world
    device_id = f"{province.other}-PC-0"
    agent = next(a for a in world.agents if a.devices[0]["device_id"] == device_id)
    world.clock.advance(DAY)
    start = world.clock.now() - timedelta(days=1)
    for minute in range(1, 1441):
        agent.devices = [pc(device_id, disk=50.0 if minute < 720 else 90.0)]
        world.measure(agent, start + timedelta(seconds=minute * HEARTBEAT))
        if minute % 500 == 0:  # a sender's batches stay under the 1,000-report limit
            world.deliver(agent)
    world.deliver(agent)
    world.processor.drain()
    return device_id
