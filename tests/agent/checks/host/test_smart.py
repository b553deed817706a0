"""SMART: smartctl's JSON (ATA, NVMe), a stand-in smartctl, the interval, missing smartctl."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

from agent.checks.host import HostCheck, HostConfig, parse_smartctl_device
from tests.agent.checks.helpers import FakeClock
from tests.agent.checks.host.support import NO_SMART, collect

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
