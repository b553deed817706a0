"""InfluxDB line protocol (collector/line_protocol.py): tags escaped, the measured time kept."""

from __future__ import annotations

from datetime import UTC, datetime

from collector.line_protocol import format_report
from collector.processor import StoredReport


def test_line_protocol_escapes_tags_and_keeps_measured_time() -> None:
    measured = datetime(2026, 3, 1, 2, 3, 4, 567000, tzinfo=UTC)
    report = StoredReport(
        journal_id=1,
        agent_id="ag",
        commune_code="14812",
        seq=1,
        measured_at=measured,
        data={
            "devices": [
                {
                    "device_id": "máy in 1",
                    "kind": "printer",
                    "samples": [
                        {
                            "name": "printer_supply_level_percent",
                            "value": 5,
                            "labels": {"description": "Toner, a=b\nx", "colour": ""},
                        },
                        {"name": "snmp_up", "value": 1.0},
                    ],
                }
            ]
        },
    )
    lines = format_report(report, "37")
    assert lines == [
        "cm_device,commune_code=14812,province=37,device_id=máy\\ in\\ 1,kind=printer,"
        "description=Toner\\,\\ a\\=b\\ x printer_supply_level_percent=5.0 1772330584567",
        "cm_device,commune_code=14812,province=37,device_id=máy\\ in\\ 1,kind=printer "
        "snmp_up=1.0 1772330584567",
    ]
