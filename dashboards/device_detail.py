"""One counter PC: host health, disk wear, its probes of the procedure software and its pings."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash

from dashboards.panels import (
    label_variable,
    probe_success_panel,
    province_dashboard,
    query,
    row,
    selector,
    stat_panel,
    table_panel,
    timeseries_panel,
)
from dashboards.texts import Lang, Tr

UID = "cm-device"
D = {"province_re": "$province", "commune_code_re": "$commune", "device_id_re": "$device"}


def build(lang: Lang) -> dash.Dashboard:
    """The counter PC detail in ``lang``."""
    tr = Tr(lang)
    return (
        province_dashboard(
            UID,
            tr("Máy tính tại quầy", "Counter PC"),
            tr(
                "Sức khỏe máy, ổ đĩa, kiểm tra phần mềm một cửa và mạng của một máy",
                "Health, disk, procedure-software probes and network of one PC",
            ),
            tr,
            commune="one",
        )
        .with_variable(
            label_variable(
                "device",
                tr("Máy", "PC"),
                'cm_device_agent_up{commune_code=~"$commune"}',
                "device_id",
                multi=False,
            )
        )
        .with_row(row(tr("Sức khỏe máy", "Health")))
        .with_panel(
            stat_panel(
                tr("Thời gian chạy", "Uptime"),
                tr("Kể từ lần khởi động gần nhất", "Since the last start"),
                query(selector("uptime_seconds", **D), "{{device_id}}"),
                unit="s",
            )
        )
        .with_panel(
            stat_panel(
                tr("Ổ đĩa đã dùng", "Disk used"),
                tr("Theo ổ đĩa", "Per volume"),
                query(selector("disk_used_percent", **D), "{{volume}}"),
                unit="percent",
            )
        )
        .with_panel(
            table_panel(
                tr("SMART của ổ đĩa", "Disk SMART"),
                tr(
                    "Giờ hoạt động, mức hao mòn, sector bị thay thế",
                    "Power-on hours, wear, reallocated sectors",
                ),
                query(selector("smart_power_on_hours", **D), "{{disk}}", instant=True),
                query(selector("smart_wear_percent", **D), "{{disk}}", ref="B", instant=True),
                query(
                    selector("smart_reallocated_sectors", **D), "{{disk}}", ref="C", instant=True
                ),
            )
        )
        .with_panel(
            timeseries_panel(
                tr("CPU và bộ nhớ", "CPU and memory"),
                tr("Tỷ lệ sử dụng", "Utilisation"),
                query(selector("cpu_percent", **D), tr("CPU {{device_id}}", "CPU {{device_id}}")),
                query(
                    selector("memory_used_percent", **D),
                    tr("Bộ nhớ {{device_id}}", "Memory {{device_id}}"),
                    ref="B",
                ),
                unit="percent",
                width=24,
            )
        )
        .with_row(row(tr("Phần mềm một cửa", "Procedure software")))
        .with_panel(
            timeseries_panel(
                tr("Các pha tải trang", "Page load phases"),
                tr("Theo hệ thống và pha", "Per system and phase"),
                query(selector("probe_duration_seconds", **D), "{{target}} {{phase}}"),
                unit="s",
            )
        )
        .with_panel(
            probe_success_panel(tr, query(selector("probe_success", **D), "{{target}} {{host}}"))
        )
        .with_row(row(tr("Mạng", "Network")))
        .with_panel(
            timeseries_panel(
                tr("Ping", "Ping"),
                tr("Độ trễ trung bình và mất gói", "Average round-trip time and loss"),
                query(selector("ping_rtt_seconds", **D, stat="avg"), "RTT {{target}}"),
                query(
                    selector("ping_loss_ratio", **D),
                    tr("Mất gói {{target}}", "Loss {{target}}"),
                    ref="B",
                ),
                unit="s",
                width=24,
            )
        )
    )
