"""The signing chain and unsupported systems in the console (issue 23) over HTTP on both stores:
per counter PC its bridges, token, certificates and OS; the province's certificates of the month;
finance's count and cost of PCs out of support. The PCs report through the real ingest path."""

from __future__ import annotations

from typing import Any

import httpx

from tests.alerts.signing_samples import Cert, merged, signing_report, tokens_report, windows
from tests.alerts.support import pc
from tests.web.support import Province, login

AN = Cert("Nguyễn Văn An", "54AB01", days=20.0)
BINH = Cert("Trần Thị Bình", "54AB02", days=60.0)
I5_10400 = "Intel(R) Core(TM) i5-10400 CPU @ 2.90GHz"


def counter(
    province: Province,
    device_id: str,
    os: str,
    certs: tuple[Cert, ...] = (),
    *,
    present: bool = True,
    **bridges: str,
) -> dict[str, Any]:
    """A counter PC as its host, signing and tokens checks report it."""
    found = {**windows(os), "cpu_model": I5_10400, "ram_total_bytes": str(8 * 2**30)}
    host = {**pc(device_id), "facts": found}
    return merged(
        host,
        signing_report(device_id, **bridges),
        tokens_report(device_id, province.world.clock, certs, present=present),
    )


def tick(province: Province) -> None:
    province.world.tick(cut=frozenset({province.cut}))  # the cut commune stays cut


def section(html: str, anchor: str) -> str:
    return html.split(f'id="{anchor}"')[1].split("</section>")[0]


def row(html: str, device_id: str) -> str:
    return html.split(f'data-device="{device_id}"')[1].split("</tr>")[0]


async def test_each_counter_pc_shows_its_signing_chain_and_its_os(
    http: httpx.AsyncClient, province: Province
) -> None:
    agent = province.world.enrol(
        province.other,
        [
            counter(province, "Q-PC-1", "win10", (AN, BINH)),
            counter(province, "Q-PC-2", "win11_24h2", present=False, vnpt_ca="error", answer="-1"),
        ],
    )
    tick(province)
    await login(http, "dost")
    page = (await http.get(f"/web/communes/{province.other}")).text
    chain = section(page, "signing")
    first, second = row(chain, "Q-PC-1"), row(chain, "Q-PC-2")
    assert "VNPT-CA Plugin: sẵn sàng" in first
    assert "VGCA Sign Service: không trả lời" in first
    assert "đang cắm" in first
    assert "Nguyễn Văn An: còn 20 ngày" in first
    assert "Trần Thị Bình: còn 60 ngày" in first
    assert "Windows 10 22H2" in first
    assert "hệ điều hành hết hỗ trợ" in first
    assert "VNPT-CA Plugin: không sẵn sàng" in second
    assert "không có" in second
    assert "hệ điều hành hết hỗ trợ" not in second
    assert "được hỗ trợ đến 13/10/2026" in second
    assert 'data-device="Q-PC-2" class="broken"' in chain  # its bridge is not ready
    assert 'data-device="Q-PC-1" class="broken"' not in chain
    # A day later the token is unplugged: the certificates are last seen, their days count on.
    province.world.clock.advance(86_400)
    agent.devices = [
        counter(province, "Q-PC-1", "win10", present=False),
        counter(province, "Q-PC-2", "win11_24h2", present=False),
    ]
    tick(province)
    await login(http, "dost")  # the session of a day ago has expired
    first = row(
        section((await http.get(f"/web/communes/{province.other}")).text, "signing"), "Q-PC-1"
    )
    assert "Nguyễn Văn An: còn 19 ngày (lần đọc trước)" in first
    await http.get("/web/lang/en", params={"next": "/web/overview"})
    english = section((await http.get(f"/web/communes/{province.other}")).text, "signing")
    assert "VNPT-CA Plugin: ready" in english
    assert "operating system out of support" in english
    assert "Nguyễn Văn An: 19 days left (last seen)" in english


async def test_the_overview_counts_the_certificates_expiring_this_month(
    http: httpx.AsyncClient, province: Province
) -> None:
    world = province.world
    third = world.communes[2]
    expired = Cert("Lê Văn Cường", "54AB03", days=-3.0)  # 27/02: last month, still on a token
    world.enrol(
        province.other,
        [
            counter(province, "Q-PC-1", "win10", (AN, BINH, expired)),
            # The same token moved to another PC: one certificate, counted once.
            counter(province, "Q-PC-2", "win10", (AN,)),
        ],
    )
    world.enrol(third, [counter(province, "R-PC-1", "win11_24h2", (Cert("Phạm Dung", "9F", 5.0),))])
    tick(province)
    await login(http, "dost")
    card = section((await http.get("/web/overview")).text, "certificates")
    assert "Chứng thư số hết hạn trong tháng 03/2026" in card
    assert '<span id="certs-month">2</span>' in card
    assert '<dd id="certs-left">2</dd>' in card
    assert '<dd id="certs-expired">1</dd>' in card
    listed = dict(
        (code, card.split(f'data-commune="{code}"')[1].split("<b>")[1].split("</b>")[0])
        for code in (province.other, third)
    )
    assert listed == {province.other: "1", third: "1"}


async def test_finance_sees_the_count_and_cost_of_pcs_out_of_support(
    http: httpx.AsyncClient, province: Province
) -> None:
    province.world.enrol(
        province.other,
        [
            counter(province, "F-PC-7", "win7"),  # replace: 16.500.000 đ
            counter(province, "F-PC-10", "win10"),  # a Windows 11 processor: upgrade, 500.000 đ
            counter(province, "F-PC-11", "win11_24h2"),  # supported, ending within a year
        ],
    )
    tick(province)
    await login(http, "finance")
    card = section((await http.get("/web/fleet")).text, "unsupported-os")
    assert '<dd id="os-unsupported">2 / 3</dd>' in card
    assert '<dd id="os-replace">1 · 16.500.000</dd>' in card
    assert '<dd id="os-upgrade">1 · 500.000</dd>' in card
    assert '<dd id="os-total">17.000.000</dd>' in card
    assert '<dd id="os-soon">1</dd>' in card
    assert "thay máy mới" in row(card, "F-PC-7")
    assert "14/01/2020" in row(card, "F-PC-7")
    assert "nâng cấp lên Windows 11" in row(card, "F-PC-10")
    assert 'data-device="F-PC-11"' not in card
