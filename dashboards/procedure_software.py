"""The procedure software as the counters see it: load time per commune, error rate, outages."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash

from dashboards.panels import (
    heatmap_panel,
    label_variable,
    province_dashboard,
    query,
    row,
    selector,
    timeseries_panel,
)
from dashboards.texts import Lang, Tr

UID = "cm-software"
S = {"province_re": "$province", "target_re": "$target"}


def build(lang: Lang) -> dash.Dashboard:
    """The procedure software view in ``lang``."""
    tr = Tr(lang)
    ok = selector("probe_success", **S)
    return (
        province_dashboard(
            UID,
            tr("Phần mềm một cửa", "Procedure software"),
            tr(
                "Thời gian tải, tỷ lệ lỗi và sự cố của hệ thống một cửa và Cổng DVC",
                "Load time, error rate and outages of the one-stop systems",
            ),
            tr,
            commune="none",
        )
        .with_variable(
            label_variable(
                "target",
                tr("Hệ thống", "System"),
                'cm_device_probe_success{province=~"$province"}',
                "target",
            )
        )
        .with_row(row(tr("Thời gian tải", "Load time")))
        .with_panel(
            heatmap_panel(
                tr("Chờ byte đầu (TTFB) theo xã", "Time to first byte per commune"),
                tr(
                    "Mỗi hàng một xã; màu đậm là chậm",
                    "One row per commune; darker is slower",
                ),
                query(
                    "max by (commune_code) "
                    f"({selector('probe_duration_seconds', **S, phase='ttfb')})",
                    "{{commune_code}}",
                ),
            )
        )
        .with_panel(
            timeseries_panel(
                tr("Tổng thời gian tải p95", "Total load time, p95"),
                tr("Toàn tỉnh, theo hệ thống", "Province-wide, per system"),
                query(
                    "quantile by (target) (0.95, "
                    f"{selector('probe_duration_seconds', **S, phase='total')})",
                    "{{target}}",
                ),
                unit="s",
            )
        )
        .with_row(row(tr("Lỗi và sự cố", "Errors and outages")))
        .with_panel(
            timeseries_panel(
                tr("Tỷ lệ lỗi", "Error rate"),
                tr("Tỷ lệ lần kiểm tra thất bại", "Share of failed probes"),
                query(f"1 - avg by (target) (avg_over_time({ok}[$__rate_interval]))", "{{target}}"),
                unit="percentunit",
            )
        )
        .with_panel(
            timeseries_panel(
                tr("Số xã gặp lỗi", "Communes failing"),
                tr(
                    "Nhiều xã cùng lỗi một lúc là sự cố toàn tỉnh, không phải lỗi tại xã",
                    "Many communes failing at once is a province-wide outage, not a local fault",
                ),
                query(
                    f"count by (target) (max by (commune_code, target) ({ok} == 0))", "{{target}}"
                ),
            )
        )
    )
