"""The host check: invariants on live data, rates with a fake clock, reboots, memory, SMART."""

from __future__ import annotations

import json
import stat
import sys
from collections import namedtuple
from datetime import timedelta
from pathlib import Path

import psutil
import pytest

from agent.checks.catalogue import load_catalogue
from agent.checks.host import (
    HostCheck,
    HostConfig,
    counter_rate,
    cpu_percentages,
    fixed_volumes,
    parse_smartctl_device,
    parse_smbios_system_info,
    top_processes_by_memory,
    volume_label,
)
from agent.wire import DeviceReport, Sample
from tests.agent.checks.helpers import FakeClock, assert_catalogued

# No SMART, and no "recently booted" event: CI may run minutes after the machine started.
NO_SMART = {"smartctl_path": None, "recent_boot_seconds": 0}


def by_name(report: DeviceReport, name: str) -> list[Sample]:
    return [s for s in report.samples if s.name == name]


def one(report: DeviceReport, name: str) -> float:
    [sample] = by_name(report, name)
    return sample.value


async def collect(check: HostCheck) -> DeviceReport:
    [report] = await check.collect()
    assert_catalogued([report])
    return report


# ----------------------------------------------------------------------------- live data


async def test_host_live_invariants_and_rates_from_the_second_collection():
    clock = FakeClock()
    check = HostCheck(
        HostConfig(device_id="pc-01", cpu_first_window_seconds=0.05, **NO_SMART), clock=clock
    )
    first = await collect(check)
    assert first.device_id == "pc-01"
    assert first.kind == "pc"
    rate_names = {
        "disk_io_bytes_per_second",
        "disk_io_operations_per_second",
        "network_bytes_per_second",
        "network_packets_per_second",
    }
    assert not rate_names & {s.name for s in first.samples}  # rates need two collections

    clock.advance(15)
    second = await collect(check)
    names = {s.name for s in second.samples}
    assert "network_bytes_per_second" in names or not psutil.net_io_counters(pernic=True)
    for report in (first, second):
        for sample in report.samples:
            if sample.name.endswith("_percent"):
                assert 0.0 <= sample.value <= 100.0, sample
            if sample.name.endswith(("_bytes", "_per_second", "_seconds")):
                assert sample.value >= 0, sample
            if sample.name.endswith("_ratio"):
                assert 0.0 <= sample.value <= 1.0, sample
        assert 0 <= one(report, "cpu_percent") <= 100
        total, available = one(report, "memory_total_bytes"), one(report, "memory_available_bytes")
        assert 0 < available <= total
        assert one(report, "memory_used_bytes") == total - available
        assert one(report, "uptime_seconds") >= 0
        volumes = by_name(report, "disk_used_percent")
        assert volumes, "at least one fixed volume"
        assert all(s.labels["volume"] for s in volumes)
    logical = psutil.cpu_count() or 0
    if logical:
        cores = {s.labels["core"] for s in by_name(second, "cpu_core_percent")}
        assert cores == {str(i) for i in range(logical)}
    facts = second.facts
    for key in ("hostname", "os", "cpu_model", "ram_total_bytes", "cpu_cores_logical"):
        assert facts[key], key
    assert int(facts["ram_total_bytes"]) == psutil.virtual_memory().total


async def test_host_cpu_waits_for_the_second_collection_without_a_first_window():
    clock = FakeClock()
    check = HostCheck(HostConfig(cpu_first_window_seconds=0, **NO_SMART), clock=clock)
    first = await collect(check)
    assert by_name(first, "cpu_percent") == []
    assert by_name(first, "memory_used_percent")  # non-rate values come at once


async def test_host_counter_reset_gives_no_rate_that_round(monkeypatch):
    snetio = namedtuple(
        "snetio",
        "bytes_sent bytes_recv packets_sent packets_recv errin errout dropin dropout",
    )
    readings = iter(
        [
            {"eth9": snetio(9_000, 90_000, 90, 900, 0, 0, 0, 0)},
            {"eth9": snetio(100, 1_000, 1, 10, 0, 0, 0, 0)},  # driver reloaded: counters restart
            {"eth9": snetio(1_600, 31_000, 11, 40, 3, 0, 0, 0)},
        ]
    )
    monkeypatch.setattr(psutil, "net_io_counters", lambda pernic: next(readings))
    clock = FakeClock()
    check = HostCheck(HostConfig(cpu_first_window_seconds=0, **NO_SMART), clock=clock)
    await collect(check)
    clock.advance(10)
    after_reset = await collect(check)
    assert by_name(after_reset, "network_bytes_per_second") == []
    clock.advance(10)
    normal = await collect(check)
    rates = {
        (s.name, s.labels["direction"]): s.value
        for s in normal.samples
        if s.name.startswith("network_") and s.labels.get("nic") == "eth9"
    }
    assert rates[("network_bytes_per_second", "receive")] == 3_000.0
    assert rates[("network_bytes_per_second", "transmit")] == 150.0
    assert rates[("network_errors_per_second", "receive")] == 0.3


# ----------------------------------------------------------------------------- reboots


async def test_host_reboot_detected_from_an_injected_boot_time():
    clock = FakeClock()
    boot = [clock.now().timestamp() - 10 * 86_400]
    check = HostCheck(HostConfig(**NO_SMART), clock=clock, boot_time=lambda: boot[0])
    first = await collect(check)
    assert first.events == []  # long uptime, nothing known before: no reboot claimed
    clock.advance(15)
    boot[0] += 0.6  # Windows computes boot time from a tick count: sub-second jitter
    assert (await collect(check)).events == []
    clock.advance(600)
    boot[0] = clock.now().timestamp() - 90
    third = await collect(check)
    [event] = third.events
    assert event.type == "host_rebooted"
    assert event.attrs["detected_by"] == "boot_time"
    assert "previous_boot_time" in event.attrs
    assert one(third, "uptime_seconds") == pytest.approx(90)
    clock.advance(15)
    assert (await collect(check)).events == []  # said once per reboot


async def test_host_reboot_detected_from_small_uptime_at_agent_start():
    clock = FakeClock()
    check = HostCheck(
        HostConfig(smartctl_path=None),  # default recent_boot_seconds: 15 min
        clock=clock,
        boot_time=lambda: clock.now().timestamp() - 75,
    )
    [event] = (await collect(check)).events
    assert event.attrs["detected_by"] == "uptime"
    assert event.attrs["uptime_seconds"] == "75"


async def test_host_reboot_survives_an_agent_restart_through_the_state_file(tmp_path):
    clock = FakeClock()
    state = tmp_path / "host_state.json"
    old_boot = clock.now().timestamp() - 5 * 86_400
    before = HostCheck(
        HostConfig(**NO_SMART), clock=clock, state_path=state, boot_time=lambda: old_boot
    )
    assert (await collect(before)).events == []
    assert json.loads(state.read_text())["boot_time"] == old_boot
    clock.advance(3600)
    new_boot = clock.now().timestamp() - 20 * 60  # rebooted; agent started 20 min later
    after = HostCheck(
        HostConfig(**NO_SMART), clock=clock, state_path=state, boot_time=lambda: new_boot
    )
    [event] = (await collect(after)).events
    assert event.attrs["detected_by"] == "boot_time"
    assert json.loads(state.read_text())["boot_time"] == new_boot


# ----------------------------------------------------------------------------- memory


async def test_host_memory_short_names_top_processes_once_per_repeat_interval():
    clock = FakeClock()
    check = HostCheck(
        HostConfig(
            memory_short_percent=0.01,
            memory_event_repeat_seconds=900,
            top_processes=3,
            cpu_first_window_seconds=0,
            **NO_SMART,
        ),
        clock=clock,
    )
    [event] = (await collect(check)).events
    assert event.type == "memory_short"
    assert event.attrs["top1_name"]
    assert int(event.attrs["top1_rss_bytes"]) >= int(event.attrs.get("top2_rss_bytes", 0))
    assert int(event.attrs["top1_processes"]) >= 1
    assert "top4_name" not in event.attrs
    assert not [s for s in (await collect(check)).samples if s.name.startswith("top")]
    clock.advance(60)
    assert (await collect(check)).events == []  # still short, but said a minute ago
    clock.advance(900)
    assert [e.type for e in (await collect(check)).events] == ["memory_short"]


def test_top_processes_are_grouped_by_name_and_sorted():
    groups = top_processes_by_memory(5)
    assert groups
    assert [g.rss_bytes for g in groups] == sorted((g.rss_bytes for g in groups), reverse=True)
    assert all(g.processes >= 1 for g in groups)


# ----------------------------------------------------------------------------- SMART

ATA_FAILING = {
    "json_format_version": [1, 0],
    "smartctl": {"version": [7, 3], "exit_status": 8},
    "device": {"name": "/dev/sda", "info_name": "/dev/sda [SAT]", "type": "sat", "protocol": "ATA"},
    "model_name": "ST500DM002-1BD142",
    "serial_number": "Z3T0ABCD",
    "smart_status": {"passed": False},
    "ata_smart_attributes": {
        "revision": 10,
        "table": [
            {
                "id": 5,
                "name": "Reallocated_Sector_Ct",
                "value": 90,
                "worst": 90,
                "thresh": 36,
                "raw": {"value": 1184, "string": "1184"},
            },
            {
                "id": 9,
                "name": "Power_On_Hours",
                "value": 53,
                "worst": 53,
                "thresh": 0,
                "raw": {"value": 41234, "string": "41234"},
            },
            {
                "id": 194,
                "name": "Temperature_Celsius",
                "value": 38,
                "worst": 52,
                "thresh": 0,
                "raw": {"value": 60129542182, "string": "38 (0 14 0 0 0)"},
            },
            {
                "id": 197,
                "name": "Current_Pending_Sector",
                "value": 100,
                "worst": 100,
                "thresh": 0,
                "raw": {"value": 16, "string": "16"},
            },
            {
                "id": 198,
                "name": "Offline_Uncorrectable",
                "value": 100,
                "worst": 100,
                "thresh": 0,
                "raw": {"value": 8, "string": "8"},
            },
        ],
    },
    "power_on_time": {"hours": 41234},
    "temperature": {"current": 38},
}
NVME_HEALTHY = {
    "json_format_version": [1, 0],
    "smartctl": {"version": [7, 3], "exit_status": 0},
    "device": {"name": "/dev/nvme0", "info_name": "/dev/nvme0", "type": "nvme", "protocol": "NVMe"},
    "model_name": "KINGSTON SNVS250G",
    "serial_number": "50026B7684ABCDEF",
    "smart_status": {"passed": True, "nvme": {"value": 0}},
    "nvme_smart_health_information_log": {
        "critical_warning": 0,
        "temperature": 35,
        "available_spare": 100,
        "percentage_used": 3,
        "power_on_hours": 5120,
        "media_errors": 0,
    },
    "temperature": {"current": 35},
    "power_on_time": {"hours": 5120},
}
NO_PERMISSION = {
    "json_format_version": [1, 0],
    "smartctl": {
        "version": [7, 3],
        "messages": [
            {
                "string": "Smartctl open device: /dev/sdb failed: Permission denied",
                "severity": "error",
            }
        ],
        "exit_status": 2,
    },
}
SCAN = {
    "smartctl": {"version": [7, 3], "exit_status": 0},
    "devices": [
        {"name": "/dev/sda", "info_name": "/dev/sda [SAT]", "type": "sat", "protocol": "ATA"},
        {"name": "/dev/nvme0", "info_name": "/dev/nvme0", "type": "nvme", "protocol": "NVMe"},
        {"name": "/dev/sdb", "info_name": "/dev/sdb", "type": "scsi", "protocol": "SCSI"},
    ],
}


def test_smartctl_json_of_an_ata_and_an_nvme_disk():
    ata = parse_smartctl_device(ATA_FAILING, "/dev/sda")
    assert (ata.passed, ata.reallocated, ata.pending, ata.offline_uncorrectable) == (
        False,
        1184,
        16,
        8,
    )
    assert (ata.power_on_hours, ata.temperature, ata.model) == (41234, 38.0, "ST500DM002-1BD142")
    nvme = parse_smartctl_device(NVME_HEALTHY, "/dev/nvme0")
    assert (nvme.passed, nvme.media_errors, nvme.wear_percent, nvme.reallocated) == (
        True,
        0,
        3.0,
        None,
    )
    empty = parse_smartctl_device({"smartctl": {"exit_status": 4}}, "/dev/x")
    assert empty.passed is None
    assert empty.reallocated is None


def fake_smartctl(tmp_path: Path) -> tuple[Path, Path]:
    """An executable standing in for smartctl: canned JSON per device, and a log of its calls."""
    answers = {
        "scan": SCAN,
        "/dev/sda": ATA_FAILING,
        "/dev/nvme0": NVME_HEALTHY,
        "/dev/sdb": NO_PERMISSION,
    }
    (tmp_path / "answers.json").write_text(json.dumps(answers))
    calls = tmp_path / "calls.log"
    script = tmp_path / "smartctl"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, pathlib, sys\n"
        "here = pathlib.Path(__file__).parent\n"
        "with open(here / 'calls.log', 'a') as log: log.write(' '.join(sys.argv[1:]) + '\\n')\n"
        "answers = json.loads((here / 'answers.json').read_text())\n"
        "doc = answers['scan'] if '--scan' in sys.argv else answers[sys.argv[-1]]\n"
        "print(json.dumps(doc))\n"
        "sys.exit(doc['smartctl']['exit_status'])\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, calls


async def test_host_smart_samples_events_and_interval(tmp_path):
    script, calls = fake_smartctl(tmp_path)
    clock = FakeClock()
    check = HostCheck(
        HostConfig(
            smartctl_path=str(script),
            smart_interval_seconds=3600,
            cpu_first_window_seconds=0,
            recent_boot_seconds=0,
        ),
        clock=clock,
    )
    first = await collect(check)
    smart = {
        (s.name, s.labels["disk"]): s.value for s in first.samples if s.name.startswith("smart_")
    }
    assert smart[("smart_healthy", "/dev/sda")] == 0.0
    assert smart[("smart_reallocated_sectors", "/dev/sda")] == 1184
    assert smart[("smart_pending_sectors", "/dev/sda")] == 16
    assert smart[("smart_power_on_hours", "/dev/sda")] == 41234
    assert smart[("smart_healthy", "/dev/nvme0")] == 1.0
    assert smart[("smart_wear_percent", "/dev/nvme0")] == 3.0
    assert not [k for k in smart if k[1] == "/dev/sdb"]
    events = {e.type: e for e in first.events}
    assert events["smart_failing"].attrs == {
        "disk": "/dev/sda",
        "model": "ST500DM002-1BD142",
        "serial": "Z3T0ABCD",
    }
    assert events["smart_unavailable"].attrs["disk"] == "/dev/sdb"
    assert "Permission denied" in events["smart_unavailable"].attrs["reason"]
    assert "-d sat /dev/sda" in calls.read_text()

    clock.advance(15)
    between = await collect(check)
    assert not [s for s in between.samples if s.name.startswith("smart_")]
    assert len(calls.read_text().splitlines()) == 4  # scan + 3 disks: no run inside the interval

    clock.advance(3600)
    later = await collect(check)
    assert [s for s in later.samples if s.name.startswith("smart_")]
    assert [e.type for e in later.events if e.type.startswith("smart")] == ["smart_failing"]


async def test_host_missing_smartctl_is_said_exactly_once(tmp_path):
    clock = FakeClock()
    check = HostCheck(
        HostConfig(
            smartctl_path=str(tmp_path / "no-smartctl-here"),
            smart_interval_seconds=60,
            cpu_first_window_seconds=0,
            recent_boot_seconds=0,
        ),
        clock=clock,
    )
    events = []
    for _ in range(4):
        events += (await collect(check)).events
        clock.advance(7200)  # past the SMART interval every time
    missing = [e for e in events if e.type.startswith("smart")]
    assert [e.type for e in missing] == ["smartctl_missing"]
    assert missing[0].attrs == {"smartctl_path": str(tmp_path / "no-smartctl-here")}


async def test_host_smart_off_says_nothing():
    check = HostCheck(HostConfig(cpu_first_window_seconds=0, **NO_SMART), clock=FakeClock())
    report = await collect(check)
    assert not [e for e in report.events if e.type.startswith("smart")]


# ----------------------------------------------------------------------------- pure parts


def test_counter_rate_handles_resets_and_no_time():
    assert counter_rate(100, 400, 10) == 30
    assert counter_rate(400, 100, 10) is None  # reset
    assert counter_rate(100, 400, 0) is None


def test_cpu_percentages_match_psutil_arithmetic():
    before = {
        "user": 10.0,
        "nice": 0.0,
        "system": 5.0,
        "idle": 80.0,
        "iowait": 5.0,
        "steal": 0.0,
        "guest": 2.0,
        "guest_nice": 0.0,
    }
    after = {
        "user": 30.0,
        "nice": 0.0,
        "system": 15.0,
        "idle": 140.0,
        "iowait": 15.0,
        "steal": 10.0,
        "guest": 12.0,
        "guest_nice": 0.0,
    }
    # deltas: user 20 (10 of it guest), system 10, idle 60, iowait 10, steal 10 → total 110
    result = cpu_percentages(before, after)
    assert result == pytest.approx(
        {"busy": 100 * 40 / 110, "iowait": 100 * 10 / 110, "steal": 100 * 10 / 110}
    )
    assert cpu_percentages(after, before) is None  # went backwards
    assert cpu_percentages(before, before) is None  # no time passed
    windows = cpu_percentages(
        {"user": 1.0, "system": 1.0, "idle": 8.0, "interrupt": 0.0, "dpc": 0.0},
        {"user": 3.0, "system": 2.0, "idle": 15.0, "interrupt": 0.0, "dpc": 0.0},
    )
    assert windows == pytest.approx({"busy": 30.0})  # no iowait/steal on Windows


Part = namedtuple("Part", "device mountpoint fstype opts")


def test_fixed_volumes_on_windows_keep_fixed_drives_only():
    parts = [
        Part("C:\\", "C:\\", "NTFS", "rw,fixed"),
        Part("D:\\", "D:\\", "NTFS", "rw,fixed"),
        Part("E:\\", "E:\\", "", "cdrom"),
        Part("F:\\", "F:\\", "FAT32", "rw,removable"),
        Part("Z:\\", "Z:\\", "NTFS", "rw,remote"),
    ]
    assert fixed_volumes(parts, windows=True) == [("C:\\", "C:\\"), ("D:\\", "D:\\")]
    assert [volume_label(m) for _, m in fixed_volumes(parts, windows=True)] == ["C:", "D:"]


def test_fixed_volumes_on_linux_skip_pseudo_removable_and_duplicates():
    parts = [
        Part("/dev/sda2", "/", "ext4", "rw"),
        Part("/dev/sda1", "/boot/efi", "vfat", "rw"),
        Part("/dev/loop3", "/snap/core/1", "squashfs", "ro"),
        Part("/dev/sdb1", "/media/usb", "vfat", "rw"),
        Part("/dev/sda2", "/var/lib/docker", "ext4", "rw"),  # bind mount of the same device
        Part("tmpfs", "/run", "tmpfs", "rw"),
    ]
    result = fixed_volumes(parts, windows=False, is_removable=lambda dev: dev == "/dev/sdb1")
    assert result == [("/dev/sda2", "/"), ("/dev/sda1", "/boot/efi")]
    assert volume_label("/") == "/"


def _smbios_type1(vendor: bytes, product: bytes, serial: bytes) -> bytes:
    formatted = bytes([1, 0x1B, 0x01, 0x00, 1, 2, 3, 4]) + bytes(16) + bytes([6, 0, 0])
    strings = vendor + b"\0" + product + b"\0" + b"Not defined\0" + serial + b"\0\0"
    return formatted + strings


def test_smbios_system_information_gives_vendor_model_and_serial():
    bios = bytes([0, 0x12, 0x00, 0x00, 1, 2, 0, 0]) + bytes(10) + b"LENOVO\0M1AKT\0\0"
    end = bytes([127, 4, 0xFF, 0xFF, 0, 0])
    raw = bytes(8) + bios + _smbios_type1(b"LENOVO", b"ThinkCentre M720q", b"PC0ABC12") + end
    assert parse_smbios_system_info(raw) == {
        "vendor": "LENOVO",
        "model": "ThinkCentre M720q",
        "serial": "PC0ABC12",
    }
    placeholder = bytes(8) + _smbios_type1(b"Dell", b"OptiPlex 3020", b"To Be Filled By O.E.M.")
    assert parse_smbios_system_info(placeholder) == {"vendor": "Dell", "model": "OptiPlex 3020"}
    assert parse_smbios_system_info(b"") == {}
    assert parse_smbios_system_info(bytes(8) + b"\x01\x02garbage") == {}


def test_catalogue_is_well_formed_and_bilingual():
    catalogue = load_catalogue()
    checks = {m.check for m in catalogue.metrics}
    # "agent" holds the runner's own metrics (spool depth, send failures).
    assert checks == {"agent", "host", "http_probe", "local_service", "ping"}
    for metric in catalogue.metrics:
        assert not metric.help.vi.isascii()
        assert metric.help.en != metric.help.vi


def test_host_default_config_is_valid():
    from agent.agent_config import default_agent_config

    assert default_agent_config().checks["host"].check == "host"
    assert HostConfig().smartctl_path == "smartctl"
    assert timedelta(seconds=HostConfig().smart_interval_seconds) == timedelta(hours=1)
