"""Printers and supplies across the province: what runs out next, which printers are in error."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash

from dashboards.panels import (
    bargauge_panel,
    province_dashboard,
    query,
    row,
    selector,
    stat_panel,
    table_panel,
    timeseries_panel,
)
from dashboards.texts import Lang, Tr

UID = "cm-printers"
P = {"province_re": "$province", "commune_code_re": "$commune"}


def build(lang: Lang) -> dash.Dashboard:
    """The printers and supplies view in ``lang``."""
    tr = Tr(lang)
    level = selector("printer_supply_level_percent", **P)
    return (
        province_dashboard(
            UID,
            tr("Máy in và vật tư", "Printers and supplies"),
            tr(
                "Mực sắp hết, máy in đang lỗi và số trang in của các xã",
                "Supplies running out, printers in error and pages printed",
            ),
            tr,
        )
        .with_row(row(tr("Vật tư", "Supplies")))
        .with_panel(
            stat_panel(
                tr("Máy in đang trả lời", "Printers answering"),
                tr("Máy in trả lời SNMP lần đo gần nhất", "Printers answering SNMP at last poll"),
                query(
                    f"count({selector('snmp_up', **P, kind='printer')} == 1)",
                    tr("Máy in", "Printers"),
                ),
            )
        )
        .with_panel(
            table_panel(
                tr("Vật tư còn ít nhất", "Emptiest supplies"),
                tr(
                    "20 hộp mực/mực còn ít nhất: đặt mua trước khi hết",
                    "The 20 emptiest toners and inks: order before they run out",
                ),
                query(
                    f"bottomk(20, {level})",
                    "{{commune_code}} {{device_id}} {{description}}",
                    instant=True,
                ),
                unit="percent",
                width=18,
            )
        )
        .with_panel(
            timeseries_panel(
                tr("Mức vật tư theo thời gian", "Supply level over time"),
                tr("Độ dốc cho biết bao giờ hết", "The slope tells when it runs out"),
                query(
                    f"min by (commune_code, device_id, colour) ({level})",
                    "{{commune_code}} {{device_id}} {{colour}}",
                ),
                unit="percent",
                width=24,
            )
        )
        .with_row(row(tr("Lỗi và sử dụng", "Errors and use")))
        .with_panel(
            bargauge_panel(
                tr("Lỗi máy in theo loại (24 giờ)", "Printer errors by kind (24 hours)"),
                tr(
                    "Số máy in gặp từng loại lỗi trong 24 giờ",
                    "Printers that had each error in the last 24 hours",
                ),
                query(
                    "count by (condition) (max by (commune_code, device_id, condition) "
                    f"(max_over_time({selector('printer_error', **P)}[1d])) == 1)",
                    "{{condition}}",
                    instant=True,
                ),
            )
        )
        .with_panel(
            table_panel(
                tr("Số trang đã in", "Pages printed"),
                tr("Bộ đếm trang của máy in", "The printer's page counter"),
                query(
                    f"max by (commune_code, device_id) ({selector('printer_pages_total', **P)})",
                    "{{commune_code}} {{device_id}}",
                    instant=True,
                ),
            )
        )
    )
