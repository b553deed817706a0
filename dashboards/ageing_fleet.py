"""The ageing fleet as the devices themselves report it: disk power-on hours, SSD wear,
reallocated sectors. (The register's purchase dates and the upgrade plan are in inventory/,
not in the time-series database.)"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash

from dashboards.panels import (
    histogram_panel,
    province_dashboard,
    query,
    row,
    selector,
    stat_panel,
    table_panel,
)
from dashboards.texts import Lang, Tr

UID = "cm-fleet"
P = {"province_re": "$province", "commune_code_re": "$commune"}
HOURS_PER_YEAR = 8760


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
                "Tuổi thực của máy theo giờ hoạt động và độ hao mòn ổ đĩa",
                "Real age of the PCs from disk power-on hours and wear",
            ),
            tr,
        )
        .with_row(row(tr("Phân bố tuổi", "Age distribution")))
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
