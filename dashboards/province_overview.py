"""Province overview: which communes report, how available the procedure software is, worst
latencies, the tickets open now (by class, owner, SLA) and the devices that need attention soon."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash

from dashboards.panels import (
    bargauge_panel,
    province_dashboard,
    query,
    row,
    selector,
    series,
    stat_panel,
    table_panel,
    timeseries_panel,
)
from dashboards.texts import Lang, Tr

UID = "cm-province"
P = {"province_re": "$province"}
# Agents report every minute; 15 minutes of silence means the commune is cut off.
REPORTING = f"max by (commune_code) (max_over_time({selector('agent_up', **P)}[15m]))"
SEEN_THIS_WEEK = f"max by (commune_code) (max_over_time({selector('agent_up', **P)}[7d]))"
# Tickets not yet resolved (open or acknowledged), from the collector's ticket store.
OPEN_TICKETS = series("cm_tickets", **P, state_ne="resolved")
OPEN_BREACHES = series("cm_ticket_sla_breaches", **P, state_ne="resolved")


def build(lang: Lang) -> dash.Dashboard:
    """The province overview in ``lang``."""
    tr = Tr(lang)
    probe_ok = selector("probe_success", **P)
    total = selector("probe_duration_seconds", **P, phase="total")
    return (
        province_dashboard(
            UID,
            tr("Tổng quan tỉnh", "Province overview"),
            tr(
                "Tình trạng các xã, phần mềm một cửa và thiết bị của tỉnh",
                "Communes, procedure software and devices of the province",
            ),
            tr,
        )
        .with_row(row(tr("Tình trạng xã", "Commune status")))
        .with_panel(
            stat_panel(
                tr("Xã đang báo cáo", "Communes reporting"),
                tr(
                    "Số xã có ít nhất một máy báo cáo trong 15 phút qua",
                    "Communes with at least one agent reporting in the last 15 minutes",
                ),
                query(f"count({REPORTING})", tr("Đang báo cáo", "Reporting")),
            )
        )
        .with_panel(
            stat_panel(
                tr("Xã mất liên lạc", "Communes silent"),
                tr(
                    "Xã đã báo cáo trong 7 ngày nhưng im lặng 15 phút qua",
                    "Communes seen in the last 7 days but silent for 15 minutes",
                ),
                query(
                    f"count({SEEN_THIS_WEEK} unless {REPORTING})",
                    tr("Mất liên lạc", "Silent"),
                ),
            )
        )
        .with_panel(
            table_panel(
                tr("Danh sách xã mất liên lạc", "Silent communes"),
                tr("Xã cần gọi điện kiểm tra", "Communes to call"),
                query(f"{SEEN_THIS_WEEK} unless {REPORTING}", "{{commune_code}}", instant=True),
            )
        )
        .with_row(row(tr("Phần mềm một cửa", "Procedure software")))
        .with_panel(
            stat_panel(
                tr("Khả dụng 24 giờ", "Availability, 24 hours"),
                tr(
                    "Tỷ lệ lần kiểm tra thành công trong 24 giờ, theo hệ thống",
                    "Share of successful probes over 24 hours, per system",
                ),
                query(f"avg by (target) (avg_over_time({probe_ok}[1d]))", "{{target}}"),
                unit="percentunit",
            )
        )
        .with_panel(
            stat_panel(
                tr("Khả dụng 7 ngày", "Availability, 7 days"),
                tr(
                    "Tỷ lệ lần kiểm tra thành công trong 7 ngày, theo hệ thống",
                    "Share of successful probes over 7 days, per system",
                ),
                query(f"avg by (target) (avg_over_time({probe_ok}[7d]))", "{{target}}"),
                unit="percentunit",
            )
        )
        .with_panel(
            table_panel(
                tr("Xã khả dụng thấp nhất (24 giờ)", "Least available communes (24 hours)"),
                tr(
                    "10 xã có tỷ lệ kiểm tra thành công thấp nhất",
                    "The 10 communes with the lowest probe success",
                ),
                query(
                    f"bottomk(10, avg by (commune_code, target) (avg_over_time({probe_ok}[1d])))",
                    "{{commune_code}} {{target}}",
                    instant=True,
                ),
                unit="percentunit",
            )
        )
        .with_panel(
            bargauge_panel(
                tr("Độ trễ tệ nhất (1 giờ)", "Worst software latency (1 hour)"),
                tr(
                    "Thời gian tải trang dài nhất theo xã và hệ thống",
                    "Longest page load per commune and system",
                ),
                query(
                    f"topk(10, max by (commune_code, target) (max_over_time({total}[1h])))",
                    "{{commune_code}} {{target}}",
                    instant=True,
                ),
                unit="s",
            )
        )
        .with_panel(
            timeseries_panel(
                tr("Độ trễ p95 toàn tỉnh", "Province-wide p95 latency"),
                tr(
                    "95% số máy tải trang nhanh hơn mức này",
                    "95 % of counter PCs load the page faster than this",
                ),
                query(f"quantile by (target) (0.95, {total})", "{{target}}"),
                unit="s",
            )
        )
        .with_row(row(tr("Phiếu xử lý sự cố", "Tickets")))
        .with_panel(
            bargauge_panel(
                tr("Phiếu đang mở theo loại sự cố", "Open tickets by problem class"),
                tr(
                    "Phiếu chưa giải quyết (mở hoặc đã tiếp nhận), theo nguyên nhân",
                    "Tickets not yet resolved (open or acknowledged), by root cause",
                ),
                query(
                    f"sum by (problem_class) ({OPEN_TICKETS})", "{{problem_class}}", instant=True
                ),
                width=8,
            )
        )
        .with_panel(
            table_panel(
                tr("Phiếu đang mở theo đơn vị xử lý", "Open tickets per owner"),
                tr(
                    "Đội hoặc nhà cung cấp phải xử lý, và trạng thái phiếu",
                    "The team or vendor that must act, and the ticket state",
                ),
                query(
                    f"sum by (owner, state) ({OPEN_TICKETS})", "{{owner}} {{state}}", instant=True
                ),
                width=8,
            )
        )
        .with_panel(
            table_panel(
                tr("Phiếu quá hạn SLA", "SLA breaches (open tickets)"),
                tr(
                    "Phiếu chưa giải quyết đã quá hạn phản hồi (response) hoặc xử lý (resolution)",
                    "Unresolved tickets past their response or resolution deadline",
                ),
                query(
                    f"sum by (owner, kind) ({OPEN_BREACHES})", "{{owner}} {{kind}}", instant=True
                ),
                width=8,
            )
        )
        .with_panel(
            timeseries_panel(
                tr("Phiếu đang mở theo thời gian", "Open tickets over time"),
                tr("Số phiếu chưa giải quyết, theo loại sự cố", "Unresolved tickets by class"),
                query(f"sum by (problem_class) ({OPEN_TICKETS})", "{{problem_class}}"),
                width=24,
            )
        )
        .with_row(row(tr("Thiết bị cần chú ý", "Devices needing attention")))
        .with_panel(
            bargauge_panel(
                tr("Hộp mực sắp hết", "Lowest printer supplies"),
                tr("10 vật tư máy in còn ít nhất", "The 10 emptiest printer supplies"),
                query(
                    "bottomk(10, min by (commune_code, device_id, colour) "
                    f"({selector('printer_supply_level_percent', **P)}))",
                    "{{commune_code}} {{device_id}} {{colour}}",
                    instant=True,
                ),
                unit="percent",
            )
        )
        .with_panel(
            stat_panel(
                tr("Máy có ổ đĩa suy giảm", "PCs with degrading disks"),
                tr(
                    "Máy có sector bị thay thế trong 24 giờ qua (SMART 5)",
                    "PCs whose disk reallocated sectors in the last 24 hours (SMART 5)",
                ),
                query(
                    "count(max by (commune_code, device_id) (max_over_time("
                    f"{selector('smart_reallocated_sectors', **P)}[1d])) > 0)",
                    tr("Ổ đĩa suy giảm", "Degrading disks"),
                ),
            )
        )
    )
