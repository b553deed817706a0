"""The snmp check against snmpsim: SNMPv3 authPriv, SNMPv1, dead and misconfigured targets,
restarts, garbage answers, printer events and discovery."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from pydantic import SecretStr

from agent.checks import check_class
from agent.checks.snmp.check import SnmpCheck, SnmpCheckConfig
from agent.checks.snmp.client import PysnmpClient
from agent.checks.snmp.config import SnmpTargetConfig
from agent.checks.snmp.values import Oid, VarBind
from agent.wire import DeviceReport, Severity
from tests.agent.checks.snmp.support import (
    ManualClock,
    assert_catalogued,
    number,
    samples_named,
    value_of,
)
from tests.services import free_udp_port


def by_id(reports: list[DeviceReport]) -> dict[str, DeviceReport]:
    """Reports keyed by device id."""
    return {report.device_id: report for report in reports}


def data_samples(report: DeviceReport) -> set[tuple[str, tuple[tuple[str, str], ...], float]]:
    """The samples that describe the device (not the poll's own meta samples)."""
    return {
        (s.name, tuple(sorted(s.labels.items())), s.value)
        for s in report.samples
        if not s.name.startswith("snmp_")
    }


class CommunitySwitch:
    """A real pysnmp client that reads another recording for chosen communities: the same
    device, seen before and after it restarted."""

    def __init__(self, swaps: dict[str, str]) -> None:
        self._client = PysnmpClient()
        self._swaps = swaps

    def _target(self, target: SnmpTargetConfig) -> SnmpTargetConfig:
        community = target.community.get_secret_value()
        if community not in self._swaps:
            return target
        return target.model_copy(update={"community": SecretStr(self._swaps[community])})

    async def get(self, target: SnmpTargetConfig, oids: Sequence[Oid]) -> list[VarBind]:
        return await self._client.get(self._target(target), oids)

    async def get_next(self, target: SnmpTargetConfig, oids: Sequence[Oid]) -> list[VarBind]:
        return await self._client.get_next(self._target(target), oids)

    async def get_bulk(
        self, target: SnmpTargetConfig, oids: Sequence[Oid], max_repetitions: int
    ) -> list[VarBind]:
        return await self._client.get_bulk(self._target(target), oids, max_repetitions)

    async def aclose(self) -> None:
        await self._client.aclose()


def test_the_registry_resolves_the_snmp_check() -> None:
    assert check_class("snmp") is SnmpCheck
    assert SnmpCheck.config_model is SnmpCheckConfig


async def test_v3_auth_priv_reads_the_same_data_as_v2c(snmpsim: Any) -> None:
    config = SnmpCheckConfig(
        targets=[snmpsim.v3_target("jetdirect_m252dw"), snmpsim.target("jetdirect_m252dw")]
    )
    reports = by_id(await SnmpCheck(config).collect())
    v3, v2c = reports["v3-jetdirect_m252dw"], reports["jetdirect_m252dw"]
    assert value_of(v3, "snmp_up") == 1
    assert value_of(v3, "printer_supply_level_percent", supply="4") == 36
    assert data_samples(v3) == data_samples(v2c)
    assert_catalogued(list(reports.values()))


async def test_v3_wrong_key_is_reported_as_an_auth_failure(snmpsim: Any) -> None:
    target = snmpsim.v3_target("brother")
    target["v3"] = {**target["v3"], "auth_key": "not-the-right-key"}
    config = SnmpCheckConfig(targets=[target, snmpsim.target("brother")])
    reports = by_id(await SnmpCheck(config).collect())
    failed = reports["v3-brother"]
    assert value_of(failed, "snmp_up") == 0
    (event,) = failed.events
    assert event.type == "snmp_poll_failed"
    assert event.attrs["error"] == "auth"
    assert event.severity is Severity.CRITICAL
    assert "not-the-right-key" not in event.message
    assert value_of(reports["brother"], "snmp_up") == 1


async def test_snmpv1_walks_with_getnext_and_reads_the_same_data(snmpsim: Any) -> None:
    config = SnmpCheckConfig(
        targets=[
            snmpsim.target("ricoh_mpc3002", version="1", device_id="v1"),
            snmpsim.target("ricoh_mpc3002"),
        ]
    )
    reports = by_id(await SnmpCheck(config).collect())
    assert value_of(reports["v1"], "snmp_up") == 1
    assert data_samples(reports["v1"]) == data_samples(reports["ricoh_mpc3002"])
    # GETNEXT fetches one row per request: more requests for the same values.
    assert number(reports["v1"], "snmp_poll_requests") > number(
        reports["ricoh_mpc3002"], "snmp_poll_requests"
    )


async def test_a_target_that_never_answers_is_down_and_does_not_delay_the_others(
    snmpsim: Any,
) -> None:
    dead_port = free_udp_port()  # nothing listens there
    dead = {"address": "127.0.0.1", "port": dead_port, "timeout": 0.5, "retries": 1}
    config = SnmpCheckConfig(
        targets=[
            dead,
            snmpsim.target("brother"),
            snmpsim.target("ios_2960x"),
            snmpsim.target("xerox"),
        ],
        max_concurrency=2,
    )
    started = time.monotonic()
    reports = by_id(await SnmpCheck(config).collect())
    elapsed = time.monotonic() - started
    down = reports[f"127.0.0.1:{dead_port}"]
    assert value_of(down, "snmp_up") == 0
    (event,) = down.events
    assert event.type == "snmp_target_unreachable"
    assert event.attrs == {
        "error": "timeout",
        "address": f"127.0.0.1:{dead_port}",
        "problem_class": "device_down",
    }
    assert "wrong community" in event.message
    # timeout × (retries + 1), not more.
    assert 0.9 <= number(down, "snmp_poll_duration_seconds") < 3
    for name in ("brother", "ios_2960x", "xerox"):
        assert value_of(reports[name], "snmp_up") == 1
    # With 2 slots the dead target holds one; the three others share the other.
    assert elapsed < 10
    assert_catalogued(list(reports.values()))


async def test_a_wrong_community_looks_like_silence(snmpsim: Any) -> None:
    config = SnmpCheckConfig(
        targets=[
            snmpsim.target("no-such-community", device_id="wrong", timeout=0.3, retries=0),
            snmpsim.target("epson"),
        ]
    )
    reports = by_id(await SnmpCheck(config).collect())
    assert value_of(reports["wrong"], "snmp_up") == 0
    assert reports["wrong"].events[0].type == "snmp_target_unreachable"
    assert value_of(reports["epson"], "snmp_up") == 1


async def test_a_restarted_router_raises_a_reboot_event_and_no_bogus_rate(snmpsim: Any) -> None:
    swaps: dict[str, str] = {}
    clock = ManualClock()
    config = SnmpCheckConfig(targets=[snmpsim.target("routeros_rb750gr3")])
    check = SnmpCheck(config, clock=clock, client_factory=lambda: CommunitySwitch(swaps))
    (before,) = await check.collect()
    assert number(before, "uptime_seconds") > 1_000
    assert not before.events

    swaps["routeros_rb750gr3"] = "restarted_router"
    clock.advance(60)
    (after,) = await check.collect()
    assert value_of(after, "uptime_seconds") == 15
    reboot = [e for e in after.events if e.type == "device_rebooted"]
    assert len(reboot) == 1
    assert reboot[0].attrs["uptime_seconds"] == "15"
    # Counters went down because of the restart: no rate rather than a huge wrapped one.
    assert not samples_named(after, "if_in_bits_per_second")

    clock.advance(60)
    (steady,) = await check.collect()
    assert not [e for e in steady.events if e.type == "device_rebooted"]
    # The recording does not move: the rate of every up interface is now exactly 0.
    rates = samples_named(steady, "if_in_bits_per_second")
    assert rates
    assert all(rate.value == 0 for rate in rates)


async def test_a_garbage_system_group_fails_only_that_target(snmpsim: Any) -> None:
    config = SnmpCheckConfig(targets=[snmpsim.target("garbage_system"), snmpsim.target("brother")])
    reports = by_id(await SnmpCheck(config).collect())
    bad = reports["garbage_system"]
    assert value_of(bad, "snmp_up") == 0
    (event,) = bad.events
    assert event.type == "snmp_poll_failed"
    assert event.attrs["error"] == "decode"
    assert "sysObjectID" in event.message
    assert value_of(reports["brother"], "snmp_up") == 1


async def test_garbage_cells_are_skipped_and_reported(snmpsim: Any) -> None:
    config = SnmpCheckConfig(targets=[snmpsim.target("garbage_cells")])
    (report,) = await SnmpCheck(config).collect()
    assert value_of(report, "snmp_up") == 1
    assert value_of(report, "snmp_invalid_values") == 2
    (event,) = [e for e in report.events if e.type == "snmp_data_invalid"]
    assert event.attrs == {"count": "2"}
    assert "1.3.6.1.2.1.43.11.1.1.9.1.2" in event.message
    # The supply without a usable level is 'unknown', its capacity is still known.
    (state,) = samples_named(report, "printer_supply_state", supply="2")
    assert state.labels["state"] == "unknown"
    assert value_of(report, "printer_supply_capacity_raw", supply="2") == 12000
    assert value_of(report, "if_oper_status", if_index="1") is None
    assert value_of(report, "if_oper_status", if_index="4") == 1


async def test_a_jammed_printer_raises_a_fault_and_its_alert(snmpsim: Any) -> None:
    config = SnmpCheckConfig(targets=[snmpsim.target("jammed_printer")])
    (report,) = await SnmpCheck(config).collect()
    assert value_of(report, "printer_error", printer="1", condition="jammed") == 1
    assert value_of(report, "printer_error", printer="1", condition="door_open") == 0
    (error,) = [e for e in report.events if e.type == "printer_error"]
    assert error.severity is Severity.CRITICAL
    assert error.attrs == {"printer": "1", "condition": "jammed", "problem_class": "printer_fault"}
    # Only the critical jam is active; the binary-change notice is not.
    assert value_of(report, "printer_alerts_active") == 1
    (alert,) = [e for e in report.events if e.type == "printer_alert"]
    assert alert.attrs["code"] == "jam"
    assert alert.attrs["group"] == "mediaPath"
    assert alert.attrs["description"] == "Paper jam in tray 1"
    assert alert.severity is Severity.CRITICAL
    assert_catalogued([report])


async def test_discovery_finds_and_classifies_devices_in_the_range(snmpsim: Any) -> None:
    config = SnmpCheckConfig(
        discovery={"network": "127.0.0.1/32", "port": snmpsim.port, "community": "brother"}
    )
    reports = await SnmpCheck(config).collect()
    (report,) = reports
    assert report.device_id == f"127.0.0.1:{snmpsim.port}"
    assert report.kind.value == "printer"
    assert report.facts["vendor"] == "brother"
    assert report.facts["model"] == "Brother MFC-L2710DW series"
    assert value_of(report, "snmp_up") == 1


async def test_a_configured_target_is_not_discovered_twice(snmpsim: Any) -> None:
    config = SnmpCheckConfig(
        targets=[snmpsim.target("xerox", device_id=None)],
        discovery={"network": "127.0.0.1/32", "port": snmpsim.port, "community": "brother"},
    )
    reports = await SnmpCheck(config).collect()
    assert [r.facts.get("vendor") for r in reports] == ["xerox"]


async def test_two_v3_targets_with_one_user_name_keep_their_own_keys(snmpsim: Any) -> None:
    wrong = snmpsim.v3_target("epson", device_id="wrong-key")
    wrong["v3"] = {**wrong["v3"], "priv_key": "another-priv-key"}
    config = SnmpCheckConfig(
        targets=[snmpsim.v3_target("xerox"), wrong, snmpsim.v3_target("epson")]
    )
    reports = by_id(await SnmpCheck(config).collect())
    assert value_of(reports["v3-xerox"], "snmp_up") == 1
    assert value_of(reports["v3-epson"], "snmp_up") == 1
    assert value_of(reports["wrong-key"], "snmp_up") == 0
