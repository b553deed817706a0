"""The ageing fleet: the asset register's ages and the upgrade plan's summary (from the
collector's register gauges, inventory/metrics.py), and the real age as the PCs themselves
report it (disk power-on hours, SSD wear)."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash

from dashboards.panels import (
    bargauge_panel,
    histogram_panel,
    province_dashboard,
    query,
    row,
    selector,
    series,
    stat_panel,
    table_panel,
)
from dashboards.texts import Lang, Tr

UID = "cm-fleet"
P = {"province_re": "$province", "commune_code_re": "$commune"}
HOURS_PER_YEAR = 8760
# Grafana has no VND unit; its custom "currency:" unit scales (K, M, B) with our symbol.
VND = "currency:₫"


def build(lang: Lang) -> dash.Dashboard:
    """The ageing fleet view in ``lang``."""
    tr = Tr(lang)
    # One value per PC: its oldest disk (the system disk is usually the original one).
    hours = f"max by (commune_code, device_id) ({selector('smart_power_on_hours', **P)})"
    return (
        province_dashboard(
            UID,
            tr("Tuổi thiết bị", "Ageing fleet"),
            tr(
                "Tuổi theo sổ tài sản, kế hoạch nâng cấp và tuổi thực theo giờ hoạt động ổ đĩa",
                "Register ages, the upgrade plan, and real age from disk power-on hours",
            ),
            tr,
        )
        .with_row(row(tr("Sổ tài sản và kế hoạch nâng cấp", "Asset register and upgrade plan")))
        .with_panel(
            bargauge_panel(
                tr("Tài sản theo tuổi (sổ tài sản)", "Assets by age (register)"),
                tr(
                    "Tài sản đang dùng hoặc hỏng, theo số năm từ ngày đưa vào sử dụng",
                    "Assets in use or broken, by years since they were put into use",
                ),
                query(
                    f"sum by (age_band) ({series('cm_assets', **P)})", "{{age_band}}", instant=True
                ),
                width=8,
            )
        )
        .with_panel(
            bargauge_panel(
                tr("Quá thời gian sử dụng, theo loại", "Past their useful life, by kind"),
                tr(
                    "Tài sản đã dùng hết thời gian tính hao mòn (TT 23/2023, 141/2025)",
                    "Assets past the life their wear is computed over (Circular 23/2023, 141/2025)",
                ),
                query(
                    f"sum by (kind) ({series('cm_assets_past_life', **P)})",
                    "{{kind}}",
                    instant=True,
                ),
                width=8,
            )
        )
        .with_panel(
            stat_panel(
                tr("Đề xuất thay thế", "Replacement candidates"),
                tr(
                    "Tài sản đủ điểm ưu tiên của kế hoạch, hoặc cần để xã còn máy in/máy quét",
                    "Assets scoring the plan's threshold, or needed to keep a commune's printer "
                    "or scanner",
                ),
                query(
                    f"sum({series('cm_upgrade_candidates', **P)})",
                    tr("Tài sản", "Assets"),
                ),
                width=4,
            )
        )
        .with_panel(
            stat_panel(
                tr("Chi phí thay thế cả danh sách", "Cost of the whole list"),
                tr(
                    "Tổng đơn giá thay thế các tài sản đề xuất (bảng giá prices.yaml)",
                    "Replacement price of every candidate (prices.yaml)",
                ),
                query(
                    f"sum({series('cm_upgrade_candidates_cost_vnd', **P)})",
                    tr("Chi phí", "Cost"),
                ),
                unit=VND,
                width=4,
            )
        )
        .with_panel(
            table_panel(
                tr("Xã cần kinh phí thay thế nhiều nhất", "Communes needing the most"),
                tr(
                    "10 xã có tổng chi phí thay thế đề xuất lớn nhất",
                    "The 10 communes whose candidates cost the most to replace",
                ),
                query(
                    "topk(10, sum by (commune_code) "
                    f"({series('cm_upgrade_candidates_cost_vnd', **P)}))",
                    "{{commune_code}}",
                    instant=True,
                ),
                unit=VND,
                width=12,
            )
        )
        .with_panel(
            stat_panel(
                tr("Tài sản quá thời gian sử dụng", "Assets past their life"),
                tr(
                    "Tổng số tài sản đang giữ đã quá thời gian sử dụng",
                    "Assets still held that are past their useful life",
                ),
                query(
                    f"sum({series('cm_assets_past_life', **P)})",
                    tr("Quá hạn", "Past life"),
                ),
                width=12,
            )
        )
        .with_row(row(tr("Tuổi thực theo giờ hoạt động", "Real age from power-on hours")))
        .with_panel(
            histogram_panel(
                tr("Phân bố năm hoạt động", "Years powered on"),
                tr(
                    "Số máy theo số năm ổ đĩa đã hoạt động (24 giờ/ngày)",
                    "PCs by years their disk has been powered on (24 h a day)",
                ),
                query(f"{hours} / {HOURS_PER_YEAR}", "{{commune_code}} {{device_id}}"),
                bucket_size=1,
            )
        )
        .with_panel(
            stat_panel(
                tr("Máy trên 3 năm hoạt động", "PCs over 3 years powered on"),
                tr(
                    "Ứng viên thay thế hoặc nâng cấp (SSD, RAM)",
                    "Candidates for replacement or an upgrade (SSD, RAM)",
                ),
                query(
                    f"count({hours} > {3 * HOURS_PER_YEAR})",
                    tr("Trên 3 năm", "Over 3 years"),
                ),
            )
        )
        .with_row(row(tr("Máy cũ nhất", "Oldest PCs")))
        .with_panel(
            table_panel(
                tr("20 máy hoạt động lâu nhất", "The 20 longest-running PCs"),
                tr("Giờ hoạt động của ổ đĩa", "Disk power-on hours"),
                query(f"topk(20, {hours})", "{{commune_code}} {{device_id}}", instant=True),
                unit="h",
            )
        )
        .with_panel(
            table_panel(
                tr("Ổ SSD hao mòn nhiều nhất", "Most worn SSDs"),
                tr(
                    "Phần trăm độ bền định mức đã dùng (NVMe)",
                    "Share of rated endurance used (NVMe)",
                ),
                query(
                    f"topk(20, max by (commune_code, device_id) "
                    f"({selector('smart_wear_percent', **P)}))",
                    "{{commune_code}} {{device_id}}",
                    instant=True,
                ),
                unit="percent",
            )
        )
    )
