"""Commune drill-down: the devices of one centre, its open tickets, its links, each counter's
probe phases and its printers."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash

from dashboards.panels import (
    bargauge_panel,
    probe_success_panel,
    province_dashboard,
    query,
    row,
    selector,
    series,
    table_panel,
    timeseries_panel,
)
from dashboards.texts import Lang, Tr

UID = "cm-commune"
C = {"province_re": "$province", "commune_code_re": "$commune"}


def build(lang: Lang) -> dash.Dashboard:
    """The commune detail in ``lang``."""
    tr = Tr(lang)
    rtt = selector("ping_rtt_seconds", **C, stat="avg")
    return (
        province_dashboard(
            UID,
            tr("Chi tiết xã", "Commune detail"),
            tr(
                "Thiết bị, đường truyền, phần mềm một cửa và máy in của một trung tâm",
                "Devices, links, procedure software and printers of one centre",
            ),
            tr,
            commune="one",
        )
        .with_row(row(tr("Thiết bị", "Devices")))
        .with_panel(
            table_panel(
                tr("Thiết bị đang báo cáo", "Devices reporting"),
                tr(
                    "1: máy tính hoặc thiết bị SNMP đã báo cáo trong 15 phút qua",
                    "1: the PC or SNMP device reported in the last 15 minutes",
                ),
                query(
                    f"max by (device_id, kind) (max_over_time({selector('agent_up', **C)}[15m]) "
                    f"or max_over_time({selector('snmp_up', **C)}[15m]))",
                    "{{device_id}} {{kind}}",
                    instant=True,
                ),
            )
        )
        .with_panel(
            bargauge_panel(
                tr("Dung lượng ổ đĩa đã dùng", "Disk space used"),
                tr("Theo máy và ổ đĩa", "Per PC and volume"),
                query(selector("disk_used_percent", **C), "{{device_id}} {{volume}}", instant=True),
                unit="percent",
            )
        )
        .with_panel(
            timeseries_panel(
                tr("CPU", "CPU"),
                tr("Tỷ lệ CPU bận theo máy", "CPU busy per PC"),
                query(selector("cpu_percent", **C), "{{device_id}}"),
                unit="percent",
            )
        )
        .with_panel(
            timeseries_panel(
                tr("Bộ nhớ đã dùng", "Memory used"),
                tr("Gần 100% thì phần mềm chạy chậm", "Near 100 % the software slows down"),
                query(selector("memory_used_percent", **C), "{{device_id}}"),
                unit="percent",
            )
        )
        .with_panel(
            table_panel(
                tr("Phiếu đang mở của xã", "Open tickets of the commune"),
                tr(
                    "Phiếu chưa giải quyết của xã (sự cố toàn tỉnh nằm ở trang tổng quan)",
                    "The commune's unresolved tickets (province-wide ones are on the overview)",
                ),
                query(
                    "sum by (problem_class, owner, state) "
                    f"({series('cm_tickets', **C, state_ne='resolved')})",
                    "{{problem_class}} {{owner}} {{state}}",
                    instant=True,
                ),
            )
        )
        .with_row(row(tr("Đường truyền", "Network link")))
        .with_panel(
            timeseries_panel(
                tr("Độ trễ mạng (RTT)", "Link round-trip time"),
                tr("Ping tới cổng mạng và Internet", "Ping to the gateway and the Internet"),
                query(rtt, "{{device_id}} → {{target}}"),
                unit="s",
            )
        )
        .with_panel(
            timeseries_panel(
                tr("Mất gói", "Packet loss"),
                tr("Tỷ lệ gói ping bị mất", "Share of ping packets lost"),
                query(selector("ping_loss_ratio", **C), "{{device_id}} → {{target}}"),
                unit="percentunit",
            )
        )
        .with_panel(
            timeseries_panel(
                tr("Lưu lượng bộ định tuyến", "Router traffic"),
                tr("Vào và ra trên từng cổng", "In and out per interface"),
                query(
                    selector("if_in_bits_per_second", **C),
                    tr("{{device_id}} {{interface}} vào", "{{device_id}} {{interface}} in"),
                ),
                query(
                    selector("if_out_bits_per_second", **C),
                    tr("{{device_id}} {{interface}} ra", "{{device_id}} {{interface}} out"),
                    ref="B",
                ),
                unit="bps",
                width=24,
            )
        )
        .with_row(row(tr("Phần mềm một cửa theo quầy", "Procedure software per counter")))
        .with_panel(
            timeseries_panel(
                tr("Các pha tải trang theo quầy", "Page load phases per counter"),
                tr(
                    "dns, connect, tls, ttfb: pha nào chậm cho biết lỗi ở đâu",
                    "dns, connect, tls, ttfb: the slow phase tells where the fault is",
                ),
                query(
                    selector("probe_duration_seconds", **C, phase_ne="total"),
                    "{{device_id}} {{target}} {{phase}}",
                ),
                unit="s",
            )
        )
        .with_panel(
            probe_success_panel(
                tr, query(selector("probe_success", **C), "{{device_id}} {{target}}")
            )
        )
        .with_row(row(tr("Máy in", "Printers")))
        .with_panel(
            bargauge_panel(
                tr("Vật tư máy in", "Printer supplies"),
                tr("Mức mực/hộp mực còn lại", "Toner and ink left"),
                query(
                    selector("printer_supply_level_percent", **C),
                    "{{device_id}} {{description}}",
                    instant=True,
                ),
                unit="percent",
            )
        )
        .with_panel(
            table_panel(
                tr("Lỗi máy in (1 giờ)", "Printer errors (1 hour)"),
                tr("1: lỗi đã xảy ra trong giờ qua", "1: the error occurred in the last hour"),
                query(
                    "max by (device_id, condition) "
                    f"(max_over_time({selector('printer_error', **C)}[1h]))",
                    "{{device_id}} {{condition}}",
                    instant=True,
                ),
            )
        )
    )
