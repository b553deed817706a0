"""Backup drill, on both stores: ``commune-monitor backup`` runs while a served collector (a child
process on 127.0.0.1) takes reports from real agent senders; the backup is restored into an empty
store, which is served in its turn, and every report acknowledged before the backup began, every
ticket, asset and user is found there (over HTTP where the collector shows them).

Prints the drill's figures (store rows, backup size, backup and restore times): run with ``-s``.
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select

from agent.clock import SystemClock
from agent.sender import Sender
from agent.spool import Spool
from agent.wire import DeviceReport
from alerts.schema import tickets
from collector import agents
from collector.db import make_engine
from collector.schema import agents as agent_rows
from collector.schema import journal
from collector.settings import load_settings
from inventory.schema import inventory_assets
from tests.agent.support import ADMIN_TOKEN, CollectorProcess, first_commune
from tests.collector.builders import pc_device
from tests.collector.test_reliability import _send
from tests.web.support import PASSWORD, USERS, build_province
from web.schema import users

pytestmark = pytest.mark.slow

AGENTS = 4
MAX_REPORTS = 1_500  # per agent: the load's bound
BEFORE_BACKUP = 150  # journal rows of the load before the backup starts
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def _cli(*args: str) -> tuple[int, str, float]:
    """``python -m province ARGS`` as its own process: exit code, output, seconds."""
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "province",
        "--log-level",
        "WARNING",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=300)
    return process.returncode or 0, out.decode(), time.monotonic() - started


def _load_rows(engine: Engine, ids: list[str]) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(journal.c.id).where(journal.c.agent_id.in_(ids))).all())


def _ids(engine: Engine) -> dict[str, set[object]]:
    with engine.connect() as conn:
        return {
            "tickets": set(conn.execute(select(tickets.c.id)).scalars()),
            "assets": set(conn.execute(select(inventory_assets.c.asset_tag)).scalars()),
            "users": set(conn.execute(select(users.c.username)).scalars()),
        }


async def _agent(
    index: int, sender: Sender, spool: Spool, acked: set[int], stop: asyncio.Event
) -> None:
    """Measure and send until told to stop (bounded by MAX_REPORTS), then drain the spool."""
    clock = SystemClock()
    for n in range(MAX_REPORTS):
        if stop.is_set():
            break
        device = DeviceReport.model_validate(pc_device(f"drill-pc-{index}", cpu=float(n % 100)))
        spool.append(clock.now() - timedelta(seconds=1), [device])
        if n % 5 == 4:
            await _send(sender, acked)
    while spool.stats().depth:
        await _send(sender, acked)


async def _backup_under_load(
    engine: Engine, store_url: str, tmp_path: Path, file: Path
) -> tuple[list[tuple[str, set[int]]], dict[str, set[object]], float]:
    """Serve, load, back up mid-load; (each load agent's reports acked before the backup,
    the ids present before it, the backup's seconds)."""
    clock = SystemClock()
    commune = first_commune(engine)
    enrolled = [
        agents.enrol(
            engine,
            agents.create_enrol_token(engine, commune, clock.now(), timedelta(hours=1)),
            f"drill-{i}",
            "drill",
            clock.now(),
        )
        for i in range(AGENTS)
    ]
    ids = [e.agent_id for e in enrolled]
    acked: list[set[int]] = [set() for _ in enrolled]
    spools = [Spool(tmp_path / f"spool-{i}.db") for i in range(AGENTS)]
    served = CollectorProcess(store_url, tmp_path / "served")
    (tmp_path / "served").mkdir()
    served.start()
    stop = asyncio.Event()
    try:
        async with httpx.AsyncClient(base_url=served.url, timeout=10) as client:
            senders = [
                Sender(
                    spool,
                    client,
                    agent_id=e.agent_id,
                    token=e.agent_token,
                    clock=clock,
                    batch_size=10,
                )
                for spool, e in zip(spools, enrolled, strict=True)
            ]
            load = asyncio.gather(
                *(_agent(i, senders[i], spools[i], acked[i], stop) for i in range(AGENTS))
            )
            for _ in range(2_000):  # bounded: until the load is well under way
                if await asyncio.to_thread(_load_rows, engine, ids) >= BEFORE_BACKUP:
                    break
                await asyncio.sleep(0.05)  # the agents post meanwhile
            before = [(agent_id, set(seqs)) for agent_id, seqs in zip(ids, acked, strict=True)]
            present = await asyncio.to_thread(_ids, engine)
            code, out, seconds = await _cli("--database-url", store_url, "backup", str(file))
            assert code == 0, out
            during = await asyncio.to_thread(_load_rows, engine, ids)
            stop.set()
            await asyncio.wait_for(load, timeout=240)
    finally:
        served.stop()
        for spool in spools:
            spool.close()
    assert sum(len(seqs) for _, seqs in before) >= BEFORE_BACKUP // 2
    assert during > BEFORE_BACKUP  # the collector kept storing while the backup ran
    size = await asyncio.to_thread(lambda: file.stat().st_size)
    print(f"\nbackup under load: {seconds:.2f} s, {size:,} bytes; {out.strip()}")
    return before, present, seconds


async def _check_served(url: str, tmp_path: Path, present: dict[str, set[object]]) -> None:
    """Serve the restored store and find the tickets, assets and users over HTTP."""
    (tmp_path / "restored-run").mkdir()
    served = CollectorProcess(url, tmp_path / "restored-run")
    served.start()
    try:
        async with httpx.AsyncClient(base_url=served.url, timeout=10) as http:
            found = await http.get("/api/v1/tickets", params={"limit": 1000}, headers=ADMIN)
            assert found.status_code == 200, found.text
            assert present["tickets"] <= {t["id"] for t in found.json()}
            assets = await http.get("/api/v1/inventory/assets", headers=ADMIN)
            assert assets.status_code == 200, assets.text
            assert present["assets"] <= {a["asset"]["asset_tag"] for a in assets.json()}
            assert present["users"] == set(USERS)
            for username in USERS:
                form = await http.get("/web/login")
                token = form.cookies["cm_login_csrf"]
                # The cookie is Secure: handed over by hand on this plain-HTTP loopback.
                answer = await http.post(
                    "/web/login",
                    data={"csrf_token": token, "username": username, "password": PASSWORD},
                    headers={"Cookie": f"cm_login_csrf={token}"},
                )
                assert answer.status_code == 303, (username, answer.text[:300])
    finally:
        served.stop()


async def test_backup_while_serving_restores_every_acknowledged_report(
    engine: Engine, store_url: str, empty_url: str, tmp_path: Path
) -> None:
    build_province(engine, tmp_path)
    file = tmp_path / "drill-backup.zip"
    before, present, _ = await _backup_under_load(engine, store_url, tmp_path, file)
    code, out, seconds = await _cli("--database-url", empty_url, "restore", str(file))
    assert code == 0, out
    print(f"restore: {seconds:.2f} s; {out.strip().splitlines()[-1]}")
    restored = make_engine(load_settings(data_dir=tmp_path, database_url=empty_url))
    try:
        with restored.connect() as conn:
            stored = {
                (agent_id, seq)
                for agent_id, seq in conn.execute(select(journal.c.agent_id, journal.c.seq))
            }
            acked_seq = dict(conn.execute(select(agent_rows.c.id, agent_rows.c.acked_seq)).all())
        for agent_id, seqs in before:
            assert {(agent_id, s) for s in seqs} <= stored, (
                f"{agent_id}: an acknowledged report is lost"
            )
            # The restored store is whole: each agent's acknowledged sequence is all there.
            upto = {(agent_id, s) for s in range(1, acked_seq[agent_id] + 1)}
            assert upto <= stored, agent_id
            assert acked_seq[agent_id] >= max(seqs, default=0)
        assert _ids(restored)["tickets"] >= present["tickets"]
    finally:
        restored.dispose()
    await _check_served(empty_url, tmp_path, present)
