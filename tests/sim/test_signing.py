"""The counter PCs' signing chain and OS facts in the simulated province (issue 23): what the
agent's own checks would send, with realistic spreads over a province's PCs."""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from agent.checks.tokens.check import TokensCheck, TokensConfig
from agent.checks.tokens.middleware import load_middleware
from agent.checks.tokens.reader import ReaderAnswer
from agent.vntime import VN_TZ
from agent.wire import DeviceKind
from alerts.calendar import load_calendar
from collector.communes import BUNDLED_UNITS
from inventory.os_support import load_os_support, os_status, windows11_capable
from sim import Behaviour, FaultView, generate_fleet
from sim.fleet import Fleet, SimAgent, SimDevice
from sim.signing import reader_answer
from sim.workstation import PUBLIC_ROOM_PREFIX, VGCA, VNPT_CA, host_facts
from tests.alerts import signing_samples
from tests.fakes import FakeClock

MONDAY = datetime(2026, 3, 2, 8, 0, tzinfo=VN_TZ).astimezone(UTC)
_TOKENS = ("token_", "signing_cert_")


@pytest.fixture(scope="module")
def province() -> Fleet:
    """Every commune of Ninh Bình: about 1,200 counter PCs."""
    return generate_fleet(BUNDLED_UNITS, "37", seed=0)


def _pcs(fleet: Fleet) -> list[SimDevice]:
    return [d for d in fleet.devices if d.kind is DeviceKind.PC]


def _share(count: int, total: int) -> float:
    return count / total if total else 0.0


# -- what is installed, across a province ---------------------------------------------------------


def test_windows_mix_follows_the_age_of_the_pcs_and_windows_11_only_where_it_can_run(
    province: Fleet,
) -> None:
    table = load_os_support()
    pcs = _pcs(province)
    names: Counter[str] = Counter()
    for pc in pcs:
        assert pc.pc is not None
        facts = host_facts(pc.device_id.lower(), pc.serial, pc.model, pc.pc, "10.0.0.100")
        status = os_status(facts, table)
        assert status is not None, facts
        assert status.lifecycle is not None, facts  # every release is in the support table
        names[status.name] += 1
        if status.name == "Windows 11":
            assert windows11_capable(facts, table), facts
        if status.name in ("Windows 7", "Windows 8.1"):
            assert pc.age_years >= 5, (pc.device_id, pc.age_years)
    total = len(pcs)
    assert total > 1_000
    assert 0.50 <= _share(names["Windows 10"], total) <= 0.70
    assert 0.15 <= _share(names["Windows 11"], total) <= 0.35
    assert 0.05 <= _share(names["Windows 7"], total) <= 0.20
    assert 0.01 <= _share(names["Windows 8.1"], total) <= 0.10


def test_certificates_expire_over_one_to_three_years_a_few_within_months(
    province: Fleet,
) -> None:
    tokens = [pc.pc.token for pc in _pcs(province) if pc.pc is not None and pc.pc.token]
    for at in (MONDAY, MONDAY + timedelta(days=200)):
        days = [
            (token.certificate(token.generation(at))[1] - at).total_seconds() / 86_400
            for token in tokens
        ]
        # Renewed weeks before expiry: never within the rule's 30 days in an ordinary run.
        assert min(days) > 34.0
        assert max(days) <= 3 * 366
        within_months = _share(sum(d <= 90 for d in days), len(days))
        assert 0.02 <= within_months <= 0.15
        assert _share(sum(d > 365 for d in days), len(days)) >= 0.4
    assert {t.life.days for t in tokens} == {365, 730, 1096}


def test_most_signing_pcs_have_their_ca_s_bridge_and_holders_have_vietnamese_names(
    province: Fleet,
) -> None:
    pcs = _pcs(province)
    public = [pc for pc in pcs if pc.room.startswith(PUBLIC_ROOM_PREFIX)]
    assert public
    assert all(pc.pc is not None and not pc.pc.bridges and not pc.pc.token for pc in public)
    signing = [pc.pc for pc in pcs if pc.pc is not None and pc.pc.token is not None]
    assert _share(len(signing), len(pcs) - len(public)) >= 0.85
    ready = sum(setup.token.authority.bridge in setup.bridges for setup in signing if setup.token)
    assert _share(ready, len(signing)) >= 0.9
    cas = Counter(setup.token.authority.ca for setup in signing if setup.token)
    # The Government CA's tokens first, then VNPT-CA's, and a few of each other public CA's.
    assert 0.4 <= _share(cas["VGCA"], len(signing)) <= 0.6
    assert 0.2 <= _share(cas["VNPT-CA"], len(signing)) <= 0.4
    for other in ("Viettel-CA", "FPT-CA", "BKAV-CA"):
        assert 0.01 <= _share(cas[other], len(signing)) <= 0.15, other
    assert set(cas) == {"VGCA", "VNPT-CA", "Viettel-CA", "FPT-CA", "BKAV-CA"}
    # Each CA's token sits in its own middleware, whose module the agent's table knows.
    known = {m.ca: m.windows for m in load_middleware().modules}
    for setup in signing:
        assert setup.token is not None
        authority = setup.token.authority
        assert authority in setup.modules
        module = authority.module.rsplit("\\", 1)[-1]
        assert module in known[authority.ca], authority.ca
    assert any(setup.bridges == {VGCA, VNPT_CA} for setup in signing)
    holders = [setup.token.holder for setup in signing if setup.token]
    assert all(len(name.split()) == 3 and name.istitle() for name in holders)
    # With diacritics, as on the certificates (a few names need none: "Mai Thanh Nam").
    assert _share(sum(not name.isascii() for name in holders), len(holders)) > 0.9
    # Common names repeat across a province (there are many Nguyễn Văn Hùng), seldom in a commune.
    assert _share(len(set(holders)), len(holders)) > 0.7
    by_commune: dict[str, list[str]] = {}
    for pc in pcs:
        if pc.pc is not None and pc.pc.token is not None:
            by_commune.setdefault(pc.commune_code, []).append(pc.pc.token.holder)
    repeated = sum(len(set(names)) < len(names) for names in by_commune.values())
    assert _share(repeated, len(by_commune)) < 0.1
    assert 0.3 <= _share(sum(h.startswith("Nguyễn ") for h in holders), len(holders)) <= 0.47
    home = sum(setup.token.takes_home for setup in signing if setup.token)
    assert 0.3 <= _share(home, len(signing)) <= 0.7


# -- what the PCs report -------------------------------------------------------------------------


def _collect(answer: ReaderAnswer, at: datetime, device_id: str) -> dict[str, Any]:
    """The real tokens check's report with a reader that answers ``answer``."""
    code = f"import sys; sys.stdin.read(); sys.stdout.write({answer.model_dump_json()!r})"
    check = TokensCheck(
        TokensConfig(device_id=device_id, known_modules=False),
        clock=FakeClock(at),
        reader_command=(sys.executable, "-c", code),
    )
    (report,) = asyncio.run(check.collect())
    return report.model_dump(mode="json")


def _token_part(device: dict[str, Any]) -> list[tuple[str, dict[str, str], float]]:
    return [
        (s["name"], s["labels"], s["value"])
        for s in device["samples"]
        if s["name"].startswith(_TOKENS)
    ]


def _day(
    fleet: Fleet, start: datetime, hours: float, step: float
) -> list[tuple[datetime, SimAgent, dict[str, Any]]]:
    behaviour = Behaviour(fleet, fleet.seed, start)
    out = []
    at = start
    while at < start + timedelta(hours=hours):
        for agent in fleet.agents:
            if agent.role == "pc":
                report = behaviour.agent_report(agent, at, step, FaultView())
                if report is not None:
                    out.append((at, agent, report[0]))
        at += timedelta(seconds=step)
    return out


def test_token_rounds_are_exactly_what_the_tokens_check_sends() -> None:
    fleet = generate_fleet(BUNDLED_UNITS, "37", seed=3, max_communes=2)
    reports = _day(fleet, MONDAY, 0.5, 300.0)
    rounds = [(at, agent, pc) for at, agent, pc in reports if _token_part(pc)]
    # A round at the agents' first report and on each ten-minute mark: 08:00, 08:10, 08:20.
    assert {at for at, _agent, _pc in rounds} == {
        MONDAY + timedelta(minutes=m) for m in (0, 10, 20)
    }
    checked = with_cert = later = 0
    for at, agent, pc in rounds[:: max(1, len(rounds) // 12)]:
        setup = agent.devices[0].pc
        assert setup is not None
        present = any(n == "token_present" and v == 1.0 for n, _l, v in _token_part(pc))
        serial = next(
            (lab["serial"] for n, lab, _v in _token_part(pc) if n == "signing_cert_expiry_days"), ""
        )
        cert = (serial, at)
        if setup.token is not None and serial:
            cert = setup.token.certificate(setup.token.generation(at))
            assert cert[0] == serial
        real = _collect(reader_answer(setup, present, cert), at, pc["device_id"])
        assert _token_part(pc) == _token_part(real)
        assert real["events"] == []
        assert {k: pc["facts"][k] for k in real["facts"]} == real["facts"]
        checked += 1
        with_cert += bool(serial)
        later += at > MONDAY  # a round built from the cached first one, days counted again
    assert checked >= 6
    assert with_cert >= 3
    assert later >= 3


def test_signing_samples_and_events_are_the_signing_check_s_own() -> None:
    fleet = generate_fleet(BUNDLED_UNITS, "37", seed=3, max_communes=2)
    reports = _day(fleet, MONDAY, 0.2, 300.0)
    seen = set()
    for _at, agent, pc in reports:
        setup = agent.devices[0].pc
        assert setup is not None
        states = {p: ("ok" if p in setup.bridges else "down") for p in (VNPT_CA, VGCA)}
        want = signing_samples.signing_report(pc["device_id"], **states)
        got_samples = [
            (s["name"], s["labels"])
            for s in pc["samples"]
            if s["name"].startswith("signing_plugin_")
        ]
        assert got_samples == [(s["name"], s["labels"]) for s in want["samples"]]
        assert [e for e in pc["events"] if e["type"].startswith("signing_")] == want["events"]
        if VNPT_CA in setup.bridges:
            assert pc["facts"]["vnpt_ca_plugin_version"] == "1.0.4.3"
        seen.add(tuple(sorted(states.items())))
    assert len(seen) >= 3  # both, one or the other, none


def test_pcs_report_the_host_check_s_os_facts() -> None:
    fleet = generate_fleet(BUNDLED_UNITS, "37", seed=3, max_communes=2)
    # The first report of each PC carries its facts (then hourly, as the agent refreshes them).
    first: dict[str, dict[str, Any]] = {}
    for _at, _agent, pc in _day(fleet, MONDAY, 0.1, 300.0):
        first.setdefault(pc["device_id"], pc)
    keys = {
        "hostname", "os", "os_name", "os_version", "os_build", "cpu_model", "cpu_cores_logical",
        "cpu_cores_physical", "ram_total_bytes", "vendor", "model", "serial", "mac_addresses",
        "ip_addresses",
    }  # fmt: skip
    for device_id, pc in first.items():
        facts = pc["facts"]
        assert keys <= set(facts), device_id
        assert facts["os_name"].startswith("Windows ")
        memory = next(s["value"] for s in pc["samples"] if s["name"] == "memory_total_bytes")
        assert int(facts["ram_total_bytes"]) == memory
    addresses = [pc["facts"]["ip_addresses"] for pc in first.values()]
    assert len(set(addresses)) == len(addresses)


def test_a_token_taken_home_is_away_only_out_of_opening_hours() -> None:
    fleet = generate_fleet(BUNDLED_UNITS, "37", seed=3, max_communes=6)
    calendar = load_calendar()
    # From Monday 06:00 to Tuesday 12:00: a day, its evening, a night, a morning.
    start = datetime(2026, 3, 2, 6, 0, tzinfo=VN_TZ).astimezone(UTC)
    away_open: Counter[tuple[str, date]] = Counter()
    away_closed = 0
    homes = set()
    for at, agent, pc in _day(fleet, start, 30.0, 600.0):
        setup = agent.devices[0].pc
        assert setup is not None
        if setup.token is None:
            continue
        present = any(n == "token_present" and v == 1.0 for n, _l, v in _token_part(pc))
        if not setup.token.takes_home:
            assert present, (agent.key, at)
            continue
        homes.add(agent.key)
        if not present:
            if calendar.is_open(agent.commune_code, at):
                away_open[(agent.key, at.date())] += 1
            else:
                away_closed += 1
    assert homes
    assert away_closed > 0  # PCs left on overnight report the token away at night
    # Away in opening hours only while the clerk arrives or leaves: well under the rule's hour.
    assert max(away_open.values(), default=0) * 10 <= 50
