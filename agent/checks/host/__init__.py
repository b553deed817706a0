"""Host health of a counter PC through psutil: CPU, memory, disks, network, uptime, sensors, SMART.

One ``DeviceReport`` of kind ``pc`` per collection, built by ``HostCheck`` (``check.py``) from
one module per concern:

- ``config``: the check's settings;
- ``snapshot``: everything one collection reads from the OS, in one worker thread (every psutil
  call blocks: ``/proc`` reads on Linux, Win32 calls on Windows);
- ``cpu``, ``samples``: CPU percentages from ``cpu_times`` deltas (they also give iowait and steal;
  the first collection measures over a short window so that a technician's one-shot
  ``commune-agent check`` sees CPU), rates with the injected clock's monotonic time;
- ``volumes``: fixed volumes and physical disks only;
- ``reboot``: uptime and reboots from the boot time;
- ``memory``: top processes by memory when memory is short, as one event;
- ``smart``: SMART through ``smartctl -j`` every ``smart_interval_seconds``;
- ``facts``, ``smbios``, ``osinfo``: facts of the PC and of its operating system.

The names below are what other code and tests import from ``agent.checks.host``; the registry
names the check ``agent.checks.host:HostCheck``.
"""

from __future__ import annotations

from agent.checks.host.check import HostCheck
from agent.checks.host.config import DEFAULT_NIC_EXCLUDE, HostConfig
from agent.checks.host.cpu import counter_rate, cpu_percentages
from agent.checks.host.memory import ProcessGroup, top_processes_by_memory
from agent.checks.host.smart import SmartctlError, SmartDisk, SmartMonitor, parse_smartctl_device
from agent.checks.host.smbios import parse_smbios_system_info
from agent.checks.host.volumes import fixed_volumes, volume_label

__all__ = [
    "DEFAULT_NIC_EXCLUDE",
    "HostCheck",
    "HostConfig",
    "ProcessGroup",
    "SmartDisk",
    "SmartMonitor",
    "SmartctlError",
    "counter_rate",
    "cpu_percentages",
    "fixed_volumes",
    "parse_smartctl_device",
    "parse_smbios_system_info",
    "top_processes_by_memory",
    "volume_label",
]
