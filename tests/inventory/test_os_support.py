"""Operating systems out of support (issue 23): the dates as data, per PC a verdict, for finance a
count and a cost, and a term of the upgrade priority; the PCs' facts arrive through the ingest."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine
from typer.testing import CliRunner

from collector.settings import Settings
from inventory.errors import ConfigError
from inventory.exports import priority_sheet
from inventory.os_support import (
    DEFAULT_OS_SUPPORT_PATH,
    Action,
    SeenPc,
    edition_of,
    load_os_support,
    os_plan,
    os_status,
    windows11_capable,
)
from inventory.reports import InventoryConfig, ranking, unsupported_os_plan
from inventory.store import import_register
from province.app import create_app
from province.cli import app
from province.service import build_service
from tests.alerts.signing_samples import windows
from tests.alerts.support import World, pc

AS_OF = date(2026, 3, 2)
PC_PRICE = 16_500_000  # inventory/prices.yaml
I5_10400 = "Intel(R) Core(TM) i5-10400 CPU @ 2.90GHz"
I5_4570 = "Intel(R) Core(TM) i5-4570 CPU @ 3.20GHz"
EIGHT_GB = str(8 * 2**30 - 200 * 2**20)  # as Windows reports 8 GB, firmware's share taken


def facts(os: str, cpu: str = I5_10400, ram: str = EIGHT_GB, **extra: str) -> dict[str, str]:
    """A PC's facts as the host check sends them."""
    return {**windows(os), "cpu_model": cpu, "ram_total_bytes": ram, **extra}


def test_the_bundled_dates_are_microsofts_with_their_sources() -> None:
    table = load_os_support()
    by_name = {s.name: s for s in table.systems if not s.versions and not s.editions}
    assert by_name["Windows 7"].end_of_support == date(2020, 1, 14)
    assert by_name["Windows 8.1"].end_of_support == date(2023, 1, 10)
    assert by_name["Windows 10"].end_of_support == date(2025, 10, 14)
    assert by_name["Windows 10"].esu_until == date(2028, 10, 10)
    for entry in table.systems:
        assert entry.source.startswith("https://learn.microsoft.com/"), entry
        # Microsoft ends servicing on a Patch Tuesday.
        assert entry.end_of_support.weekday() == 1, entry
    # An edition with its own dates comes before the release's catch-all.
    pro = table.lifecycle("Windows 11", "23H2", "Professional")
    enterprise = table.lifecycle("Windows 11", "23H2", "Enterprise")
    assert pro is not None
    assert enterprise is not None
    assert (pro.end_of_support, enterprise.end_of_support) == (
        date(2025, 11, 11),
        date(2026, 11, 10),
    )
    ltsc = table.lifecycle("Windows 10", "21H2", "EnterpriseS")
    assert ltsc is not None
    assert ltsc.end_of_support == date(2027, 1, 12)


@pytest.mark.parametrize(
    ("os", "label", "unsupported"),
    [
        ("win7", "Windows 7", True),
        ("win81", "Windows 8.1", True),
        ("win10", "Windows 10 22H2", True),
        ("win11_22h2", "Windows 11 22H2", True),
        ("win11_24h2", "Windows 11 24H2", False),
    ],
)
def test_each_pc_gets_a_verdict_from_its_facts(os: str, label: str, unsupported: bool) -> None:
    status = os_status(windows(os), load_os_support())
    assert status is not None
    assert status.label == label
    assert status.unsupported(AS_OF) is unsupported


def test_unknown_systems_are_not_called_unsupported() -> None:
    table = load_os_support()
    assert os_status({}, table) is None
    linux = os_status({"os_name": "Ubuntu", "os_version": "22.04", "os": "Ubuntu 22.04"}, table)
    assert linux is not None
    assert linux.end_of_support is None
    assert not linux.unsupported(AS_OF)
    assert edition_of({"os": "Windows 10 EnterpriseS 10.0.19044", "os_name": "Windows 10"}) == (
        "EnterpriseS"
    )


@pytest.mark.parametrize(
    ("cpu", "ram", "capable"),
    [
        (I5_10400, EIGHT_GB, True),
        ("Intel(R) Core(TM) i5-8500 CPU @ 3.00GHz", EIGHT_GB, True),
        ("11th Gen Intel(R) Core(TM) i5-1135G7 @ 2.40GHz", EIGHT_GB, True),
        ("AMD Ryzen 5 3500U with Radeon Vega Mobile Gfx", EIGHT_GB, True),
        (I5_4570, EIGHT_GB, False),  # 4th generation: not on Microsoft's list
        ("Intel(R) Pentium(R) CPU G3250 @ 3.20GHz", EIGHT_GB, False),
        (I5_10400, str(2 * 2**30), False),  # 2 GB of memory
        ("", EIGHT_GB, False),  # processor not reported: budget for the worst
    ],
)
def test_windows_11_requirements_from_the_facts(cpu: str, ram: str, capable: bool) -> None:
    assert windows11_capable(facts("win10", cpu, ram), load_os_support()) is capable


def test_the_plan_counts_and_costs_each_action() -> None:
    table = load_os_support()
    pcs = [
        SeenPc("00001", "old-win7", facts("win7", I5_4570)),
        SeenPc("00001", "win10-capable", facts("win10")),
        SeenPc("00001", "win10-old-cpu", facts("win10", I5_4570)),
        SeenPc("00001", "win10-past-life", facts("win10"), "TS-9", True, 18_000_000),
        SeenPc("00002", "win11-old-release", facts("win11_22h2")),
        SeenPc("00002", "win11-current", facts("win11_24h2")),
        SeenPc("00002", "no-facts", {}),
    ]
    plan = os_plan(pcs, table, as_of=AS_OF, pc_price=PC_PRICE)
    actions = {line.device_id: line.action for line in plan.lines}
    assert actions == {
        "old-win7": Action.REPLACE,
        "win10-capable": Action.UPGRADE,
        "win10-old-cpu": Action.REPLACE,
        "win10-past-life": Action.REPLACE,
        "win11-old-release": Action.UPDATE,
    }
    assert (plan.pcs_known, plan.unsupported, plan.ending_soon) == (6, 5, 1)
    assert (plan.replace, plan.replace_cost) == (3, 2 * PC_PRICE + 18_000_000)
    assert (plan.upgrade, plan.upgrade_cost) == (2, 500_000 + 300_000)
    assert plan.total_cost == plan.replace_cost + plan.upgrade_cost
    assert plan.lines[0].device_id == "old-win7"  # the longest out of support first
    past = next(line for line in plan.lines if line.device_id == "win10-past-life")
    assert "quá thời gian sử dụng" in past.reason_vi


@pytest.mark.parametrize(
    ("replace", "by", "expected"),
    [
        ("end_of_support: 2020-01-14", "end_of_support: soon", "field 'end_of_support'"),
        (
            "source: https://learn.microsoft.com/en-us/lifecycle/products/windows-7",
            "source: learn.microsoft.com/windows-7",
            "field 'source'",
        ),
        ("esu_until: 2023-01-10", "esu_until: 2019-01-10", "must be after end_of_support"),
        ("upgrade_vnd: 500000", "upgrade_vnd: -1", "field 'upgrade_vnd'"),
        ("remedy: replace\n", "remedy: scrap\n", "field 'remedy'"),
        (
            "    - 'Core\\(TM\\) Ultra'",
            "    - 'Core\\(TM\\) Ultra('",
            "is not a regular expression",
        ),
    ],
)
def test_a_bad_table_names_the_field(tmp_path: Path, replace: str, by: str, expected: str) -> None:
    text = DEFAULT_OS_SUPPORT_PATH.read_text(encoding="utf-8")
    assert replace in text
    bad = tmp_path / "os_support.yaml"
    bad.write_text(text.replace(replace, by, 1), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_os_support(bad)
    assert expected in str(caught.value)
    assert str(bad) in str(caught.value)


# -- through the store: the facts come in reports, the register from a file ------------------


def with_facts(device: dict[str, Any], found: dict[str, str]) -> dict[str, Any]:
    return {**device, "facts": found}


REGISTER = (
    "Mã tài sản,Loại,Model,Số serial,Mã xã,Ngày đưa vào sử dụng,Nguyên giá (VNĐ),Phòng\n"
    "TS-PC-01,Máy vi tính,OptiPlex 3020,,{code},01/05/2020,15000000,Quầy 1\n"
    "TS-PC-03,Máy vi tính,OptiPlex 7010,,{code},01/05/2024,17000000,Quầy 3\n"
)


def feed(engine: Engine) -> World:
    """Five PCs of one commune report their facts through the journal; two are registered."""
    world = World(engine)
    code = world.communes[0]
    world.enrol(
        code,
        [
            with_facts(pc("PC-W7"), facts("win7", I5_4570, hostname="TS-PC-01")),
            with_facts(pc("PC-W10"), facts("win10")),
            with_facts(pc("PC-W10-OLD"), facts("win10", I5_4570)),
            with_facts(pc("PC-W11"), facts("win11_24h2", hostname="TS-PC-03")),
            pc("PC-X"),
        ],
    )
    world.tick()
    register = REGISTER.format(code=code).encode("utf-8")
    import_register(engine, register, filename="register.csv", now=world.clock.now())
    return world


def test_the_store_gives_finance_the_count_the_cost_and_the_priority_term(engine: Engine) -> None:
    world = feed(engine)
    config = InventoryConfig()
    plan = unsupported_os_plan(engine, config, now=world.clock.now())
    assert (plan.pcs_known, plan.unsupported, plan.ending_soon) == (4, 3, 1)
    assert (plan.replace, plan.replace_cost) == (2, 2 * PC_PRICE)
    assert (plan.upgrade, plan.upgrade_cost) == (1, 500_000)
    registered = next(line for line in plan.lines if line.device_id == "PC-W7")
    assert registered.asset_tag == "TS-PC-01"
    scores = {score.asset_tag: score for score in ranking(engine, config, now=world.clock.now())}
    term = {t.term: t for t in scores["TS-PC-01"].terms}["unsupported_os"]
    assert term.value == 1.0
    assert term.explanation_vi == "Hệ điều hành hết hỗ trợ: Windows 7 (từ 14/01/2020)"
    current = {t.term: t for t in scores["TS-PC-03"].terms}["unsupported_os"]
    assert current.value == 0.0
    assert "13/10/2026" in current.explanation_vi
    # The ranking's export has the term's points in a column of its own.
    sheet = priority_sheet(scores.values())
    column = [c.key for c in sheet.columns].index("term_unsupported_os")
    assert sheet.columns[column].header_vi == "Điểm: Hệ điều hành hết hỗ trợ"
    points = {row[1]: row[column] for row in sheet.rows}
    assert points["TS-PC-01"] == term.contribution


def test_the_cli_lists_the_pcs_and_the_plan_says_the_cost(engine: Engine, store_url: str) -> None:
    feed(engine)
    runner = CliRunner(env={"COLUMNS": "220"})
    # The CLI's clock is the system's: judge at the day the PCs reported.
    command = ["--database-url", store_url, "inventory"]
    result = runner.invoke(app, [*command, "unsupported-os", "--as-of", "2026-03-02"])
    assert result.exit_code == 0, result.output
    assert "PC-W7" in result.output
    assert "thay máy mới" in result.output
    assert "Hệ điều hành hết hỗ trợ (unsupported OS): 3/4 máy" in result.output
    assert "33.000.000" in result.output
    result = runner.invoke(
        app, [*command, "plan", "--budget", "100.000.000", "--as-of", "02/03/2026"]
    )
    assert result.exit_code == 0, result.output
    assert "nâng cấp/cập nhật (upgrade) 1 máy, 500.000" in result.output
    bad = runner.invoke(app, [*command, "unsupported-os", "--as-of", "mai"])
    assert bad.exit_code == 2
    assert "--as-of" in bad.output


async def test_the_api_answers_the_count_and_cost(engine: Engine, settings: Settings) -> None:
    world = feed(engine)
    service = build_service(
        settings.model_copy(update={"run_processor": False}),
        clock=world.clock,
        registry=CollectorRegistry(),
        engine=engine,
    )
    async with service.running():
        transport = httpx.ASGITransport(app=create_app(service))
        async with httpx.AsyncClient(transport=transport, base_url="http://collector") as client:
            answer = await client.get(
                "/api/v1/inventory/unsupported-os",
                headers={"Authorization": "Bearer admin-secret"},
            )
            refused = await client.get("/api/v1/inventory/unsupported-os")
            bad = await client.get(
                "/api/v1/inventory/unsupported-os",
                params={"commune_code": "x"},
                headers={"Authorization": "Bearer admin-secret"},
            )
    assert answer.status_code == 200
    body = answer.json()
    assert (body["unsupported"], body["replace"], body["upgrade"]) == (3, 2, 1)
    assert body["total_cost"] == 2 * PC_PRICE + 500_000
    assert {line["device_id"] for line in body["lines"]} == {"PC-W7", "PC-W10", "PC-W10-OLD"}
    assert refused.status_code == 401
    assert bad.status_code == 422
    assert "commune_code" in bad.text
