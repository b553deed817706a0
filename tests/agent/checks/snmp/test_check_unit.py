"""The snmp check over a fake agent fed by the recordings: reboots, failures in the middle of a
poll, garbage, bounded concurrency, limits, classification and facts; no network, no sleeps."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from agent.checks.snmp import poller as poller_module
from agent.checks.snmp.check import SnmpCheck, SnmpCheckConfig
from agent.checks.snmp.interfaces import IF_ADMIN_STATUS, IF_DESCR, IF_OPER_STATUS, IFX_HC_IN_OCTETS
from agent.checks.snmp.poller import SYS_UPTIME
from agent.checks.snmp.values import ObjectIdValue, VarBind
from agent.wire import MAX_SAMPLES_PER_DEVICE
from tests.agent.checks.snmp.fake_agent import FakeAgent, FakeDevice, recording_device
from tests.agent.checks.snmp.support import RECORDINGS_DIR as RECORDINGS
from tests.agent.checks.snmp.support import (
    ManualClock,
    assert_catalogued,
    number,
    recordings_dir,
    samples_named,
    value_of,
)


@pytest.fixture(autouse=True)
def _recordings() -> None:
    recordings_dir()


def target(community: str, **options: Any) -> dict[str, Any]:
    device_id = re.sub(r"[^A-Za-z0-9._:@/-]", "_", community)  # '+' is not allowed in ids
    return {"address": "127.0.0.1", "community": community, "device_id": device_id, **options}


def check_with(agent: FakeAgent, *targets: dict[str, Any], clock: ManualClock | None = None,
               **options: Any) -> SnmpCheck:  # fmt: skip
    config = SnmpCheckConfig(targets=list(targets), **options)
    return SnmpCheck(config, clock=clock or ManualClock(), client_factory=lambda: agent)


def by_id(reports: list[Any]) -> dict[str, Any]:
    return {report.device_id: report for report in reports}


async def test_a_restart_raises_one_reboot_event_and_resets_rates() -> None:
    agent = FakeAgent()
    device = agent.add("routeros", recording_device(RECORDINGS / "routeros_rb750gr3.snmprec"))
    clock = ManualClock()
    check = check_with(agent, target("routeros"), clock=clock)
    await check.collect()
    uptime = device.mib[SYS_UPTIME]
    assert isinstance(uptime, int)
    device.mib[SYS_UPTIME] = 3_000
    clock.advance(60)
    (report,) = await check.collect()
    assert [e.type for e in report.events] == ["device_rebooted"]
    assert report.events[0].attrs == {
        "uptime_seconds": "30",
        "previous_uptime_seconds": f"{uptime / 100:.0f}",
    }
    assert not samples_named(report, "if_in_bits_per_second")
    device.mib[SYS_UPTIME] = 9_000
    for oid, value in list(device.mib.items()):
        if oid[: len(IFX_HC_IN_OCTETS)] == IFX_HC_IN_OCTETS and isinstance(value, int):
            device.mib[oid] = value + 7_500  # 60,000 bits in 60 s
    clock.advance(60)
    (steady,) = await check.collect()
    assert not steady.events
    rates = samples_named(steady, "if_in_bits_per_second")
    assert rates
    assert {rate.value for rate in rates} == {1_000}


async def test_a_device_that_stops_answering_mid_poll_fails_alone() -> None:
    agent = FakeAgent()
    agent.add("ios", recording_device(RECORDINGS / "ios_2960x.snmprec", answer_limit=4))
    agent.add("brother", recording_device(RECORDINGS / "brother.snmprec"))
    reports = by_id(await check_with(agent, target("ios"), target("brother")).collect())
    failed = reports["ios"]
    assert value_of(failed, "snmp_up") == 0
    (event,) = failed.events
    # It answered at first, so it is not "unreachable": the walk was cut short.
    assert event.type == "snmp_poll_failed"
    assert event.attrs["error"] == "timeout"
    assert number(failed, "snmp_poll_values") > 0
    assert value_of(reports["brother"], "snmp_up") == 1
    assert agent.closed


async def test_an_agent_that_loops_fails_with_a_clear_error() -> None:
    def loop(varbinds: list[VarBind]) -> list[VarBind]:
        # Every answer restarts at ifDescr.1, as broken agents do.
        return [((*IF_DESCR, 1), b"eth0")] * len(varbinds)

    agent = FakeAgent()
    device = recording_device(RECORDINGS / "canonprinter_lbp.snmprec")
    agent.add("canon", device)
    check = check_with(agent, target("canon"))
    device.mangle = loop
    (report,) = await check.collect()
    assert value_of(report, "snmp_up") == 0
    assert report.events[0].attrs["error"] == "oid_not_increasing"
    assert "1.3.6.1.2.1.2.2.1.2.1" in report.events[0].message


async def test_an_interface_table_with_gaps_and_a_truncated_column_still_reports() -> None:
    agent = FakeAgent()
    device = agent.add("jetstream", recording_device(RECORDINGS / "jetstream_sg2218p.snmprec"))
    # Ports 49155 and 49160 lose their status; the descriptions stop after port 49156.
    for oid in list(device.mib):
        if oid[:-1] in (IF_OPER_STATUS, IF_ADMIN_STATUS) and oid[-1] in (49155, 49160):
            del device.mib[oid]
        if oid[:-1] == IF_DESCR and oid[-1] > 49156:
            del device.mib[oid]
    device.reindex()
    (report,) = await check_with(agent, target("jetstream")).collect()
    assert value_of(report, "snmp_up") == 1
    assert value_of(report, "snmp_invalid_values") == 0
    assert value_of(report, "if_oper_status", if_index="49155") is None
    assert value_of(report, "if_oper_status", if_index="49154") == 1
    # The name still comes from ifName (ifXTable).
    assert len(samples_named(report, "if_info")) == 20


async def test_concurrency_never_exceeds_the_bound() -> None:
    agent = FakeAgent()
    targets = []
    for n in range(12):
        agent.add(f"printer{n}", recording_device(RECORDINGS / "epson.snmprec"))
        targets.append(target(f"printer{n}"))
    reports = await check_with(agent, *targets, max_concurrency=3).collect()
    assert len(reports) == 12
    assert 1 < agent.max_in_flight <= 3


async def test_a_hung_poll_is_cut_at_the_deadline_and_the_others_finish() -> None:
    agent = FakeAgent()
    agent.add("hung", recording_device(RECORDINGS / "xerox.snmprec", hang=asyncio.Event()))
    agent.add("xerox", recording_device(RECORDINGS / "xerox.snmprec"))
    check = check_with(agent, target("hung"), target("xerox"), max_poll_seconds=0.05)
    reports = by_id(await check.collect())
    assert value_of(reports["hung"], "snmp_up") == 0
    assert reports["hung"].events[0].attrs["error"] == "timeout"
    assert value_of(reports["xerox"], "snmp_up") == 1


async def test_a_decoder_bug_is_one_failed_target_not_a_crash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise ZeroDivisionError("bug")

    monkeypatch.setattr(poller_module, "decode_printer", broken)
    agent = FakeAgent()
    agent.add("brother", recording_device(RECORDINGS / "brother.snmprec"))
    agent.add("vrp", recording_device(RECORDINGS / "vrp_ar169sfp.snmprec"))
    reports = by_id(await check_with(agent, target("brother"), target("vrp")).collect())
    assert value_of(reports["brother"], "snmp_up") == 0
    assert reports["brother"].events[0].attrs["error"] == "internal"
    assert value_of(reports["vrp"], "snmp_up") == 1


async def test_an_unknown_vendor_with_the_printer_mib_is_a_printer() -> None:
    agent = FakeAgent()
    device = agent.add("noname", recording_device(RECORDINGS / "canonprinter_lbp.snmprec"))
    device.mib[(1, 3, 6, 1, 2, 1, 1, 2, 0)] = ObjectIdValue((1, 3, 6, 1, 4, 1, 99_999, 1))
    (report,) = await check_with(agent, target("noname")).collect()
    assert report.kind.value == "printer"
    assert "vendor" not in report.facts
    assert value_of(report, "printer_supply_level_percent", supply="1") == 70


async def test_the_kind_hint_wins_over_the_profile() -> None:
    agent = FakeAgent()
    agent.add("brother", recording_device(RECORDINGS / "brother.snmprec"))
    (report,) = await check_with(agent, target("brother", kind="mfp")).collect()
    assert report.kind.value == "mfp"
    assert samples_named(report, "printer_supply_state")


async def test_facts_are_read_again_only_when_due() -> None:
    agent = FakeAgent()
    device = agent.add("ricoh", recording_device(RECORDINGS / "ricoh_mpc3002.snmprec"))
    clock = ManualClock()
    check = check_with(agent, target("ricoh"), clock=clock, facts_refresh_seconds=3_600)
    (first,) = await check.collect()
    assert first.facts["serial"] == "W492KB03439"
    serial_oid = (1, 3, 6, 1, 2, 1, 43, 5, 1, 1, 17, 1)  # prtGeneralSerialNumber.1
    device.mib[serial_oid] = b"NEWSERIAL"
    clock.advance(60)
    (cached,) = await check.collect()
    assert cached.facts["serial"] == "W492KB03439"
    clock.advance(3_600)
    (fresh,) = await check.collect()
    assert fresh.facts["serial"] == "NEWSERIAL"


async def test_a_huge_switch_is_truncated_to_the_report_limit_with_an_event() -> None:
    agent = FakeAgent()
    device = FakeDevice({(1, 3, 6, 1, 2, 1, 1, 2, 0): ObjectIdValue((1, 3, 6, 1, 4, 1, 9, 1, 1))})
    for index in range(1, 401):
        device.mib[(*IF_DESCR, index)] = f"Gi1/0/{index}".encode()
        device.mib[(*IF_OPER_STATUS, index)] = 1
        device.mib[(*IF_ADMIN_STATUS, index)] = 1
        device.mib[(*IFX_HC_IN_OCTETS, index)] = index
    device.reindex()
    agent.add("stack", device)
    (report,) = await check_with(agent, target("stack")).collect()
    assert len(report.samples) == MAX_SAMPLES_PER_DEVICE
    assert value_of(report, "snmp_up") == 1
    (event,) = [e for e in report.events if e.type == "snmp_samples_truncated"]
    assert int(event.attrs["dropped"]) > 0


async def test_every_recording_through_the_fake_agent_is_catalogued() -> None:
    agent = FakeAgent()
    targets = []
    for path in sorted(RECORDINGS.glob("*.snmprec")):
        agent.add(path.stem, recording_device(path))
        targets.append(target(path.stem))
    clock = ManualClock()
    check = check_with(agent, *targets, clock=clock)
    await check.collect()
    clock.advance(60)
    reports = await check.collect()
    assert all(value_of(r, "snmp_up") == 1 for r in reports)
    assert_catalogued(reports)


async def test_an_unknown_snmpv1_router_without_printer_mib_is_a_router() -> None:
    agent = FakeAgent()
    device = agent.add("router", recording_device(RECORDINGS / "draytek_vdsl.snmprec"))
    device.mib[(1, 3, 6, 1, 2, 1, 1, 2, 0)] = ObjectIdValue((1, 3, 6, 1, 4, 1, 99_999, 7))
    # Nothing after the Printer-MIB: SNMPv1 answers the probe with noSuchName.
    for oid in [oid for oid in device.mib if oid > (1, 3, 6, 1, 2, 1, 43)]:
        del device.mib[oid]
    device.reindex()
    (report,) = await check_with(agent, target("router", version="1")).collect()
    assert value_of(report, "snmp_up") == 1
    # Not a printer; IP-MIB ipForwarding.0 = forwarding(1) makes it a router.
    assert report.kind.value == "router"
    assert not samples_named(report, "printer_supply_state")
    assert value_of(report, "if_oper_up", if_index="1") == 1


ENT = (1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1)
SYS_OBJECT_ID = (1, 3, 6, 1, 2, 1, 1, 2, 0)
PRT_GENERAL_SERIAL_1 = (1, 3, 6, 1, 2, 1, 43, 5, 1, 1, 17, 1)


async def test_the_chassis_names_the_model_not_the_first_module() -> None:
    agent = FakeAgent()
    device = agent.add("cbs350", recording_device(RECORDINGS / "ciscosb_cbs350.snmprec"))
    # An SFP listed before the chassis, as port rows often are: index 1 < 67109120.
    device.mib[(*ENT, 4, 1)] = 67109120
    device.mib[(*ENT, 5, 1)] = 10  # port
    device.mib[(*ENT, 11, 1)] = b"AGM2133L0QX"
    device.mib[(*ENT, 13, 1)] = b"GLC-TE"
    device.reindex()
    (report,) = await check_with(agent, target("cbs350")).collect()
    assert report.facts["model"] == "CBS350-24P-4G"
    assert report.facts["serial"] == "FOC2433L650"


async def test_a_vendor_serial_fills_in_when_the_standard_mibs_have_none() -> None:
    agent = FakeAgent()
    ricoh = agent.add("ricoh", recording_device(RECORDINGS / "ricoh_mpc3002.snmprec"))
    del ricoh.mib[PRT_GENERAL_SERIAL_1]
    ricoh.reindex()
    # A Kyocera answering only its own KYOCERA-MIB (no Printer-MIB, no ENTITY-MIB).
    agent.add("kyocera", recording_device(RECORDINGS / "kyocera.snmprec"))
    reports = by_id(await check_with(agent, target("ricoh"), target("kyocera")).collect())
    assert reports["ricoh"].facts["serial"] == "W492KB03439"  # RICOH-MIB serial
    assert reports["kyocera"].kind.value == "printer"
    assert reports["kyocera"].facts["serial"] == "QUV9600664"  # kcprtSerialNumber.1
    assert reports["kyocera"].facts["model"] == "FS-1028MFP"  # kcprtGeneralModelName.1


async def test_a_hex_dumped_supply_name_reaches_neither_label_nor_ticket() -> None:
    agent = FakeAgent()
    device = agent.add("hp", recording_device(RECORDINGS / "jetdirect_m252dw.snmprec"))
    supply_1 = (1, 3, 6, 1, 2, 1, 43, 11, 1, 1)
    device.mib[(*supply_1, 6, 1, 1)] = (
        b"Black Cartridge \n38 32 37 41 20 48 50 20 43 46 33 30 30 41 00"
    )
    device.mib[(*supply_1, 8, 1, 1)] = 100
    device.mib[(*supply_1, 9, 1, 1)] = 3  # low: a printer_supply_low event
    device.reindex()
    (report,) = await check_with(agent, target("hp")).collect()
    (state,) = samples_named(report, "printer_supply_state", supply="1")
    assert state.labels["description"] == "Black Cartridge 827A HP CF300A"
    (event,) = [e for e in report.events if e.type == "printer_supply_low"]
    assert event.attrs["description"] == "Black Cartridge 827A HP CF300A"
    assert event.message == "Black Cartridge 827A HP CF300A is low (3 %)"
