"""A realistic synthetic register for one province, deterministic for a seed (tests, benchmark).

Communes come from ``vn_units_2025.csv`` (shared/data); each gets the fleet of DOMAIN.md §5:
site class R (rural commune, merged), U (urban ward) or I (island special zone or remote upland),
component counts, age mixes (a quarter of counter PCs under 2 years, 15 % over 8 years reused
from former offices), costs around the catalogue prices of §1.3, statuses that break more with age,
and inherited equipment from the 2025 merger, some of it with unknown cost and a 2026 revaluation
(Art. 18.4). Brands, models, serials and former-unit names are plausible but invented.

``sample_signals.generate_signals`` adds a year of synthetic rollups per asset for the priority
score.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path

from inventory.models import Asset, AssetKind, AssetStatus, Revaluation

DEFAULT_AS_OF = date(2026, 3, 2)


@dataclass(frozen=True)
class CommuneUnit:
    """One row of vn_units_2025.csv."""

    province_code: str
    province_name: str
    commune_code: str
    commune_name: str
    commune_type: str


def load_units(path: Path) -> list[CommuneUnit]:
    """Every commune-level unit of the CSV (codes kept as strings with their leading zeros)."""
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            CommuneUnit(
                province_code=row["province_code"],
                province_name=row["province_name"],
                commune_code=row["commune_code"],
                commune_name=row["commune_name"],
                commune_type=row["commune_type"],
            )
            for row in csv.DictReader(handle)
        ]


class SiteClass(StrEnum):
    """DOMAIN.md §5 site classes."""

    RURAL = "R"
    URBAN = "U"
    ISLAND_OR_UPLAND = "I"


def site_class(unit: CommuneUnit, rng: random.Random) -> SiteClass:
    """Wards are urban, special zones island sites; about 8 % of communes are remote upland."""
    if unit.commune_type == "phường":
        return SiteClass.URBAN
    if unit.commune_type == "đặc khu":
        return SiteClass.ISLAND_OR_UPLAND
    return SiteClass.ISLAND_OR_UPLAND if rng.random() < 0.08 else SiteClass.RURAL


Counts = dict[SiteClass, tuple[int, int]]
Chances = dict[SiteClass, float]
R, U, ISL = SiteClass.RURAL, SiteClass.URBAN, SiteClass.ISLAND_OR_UPLAND


@dataclass(frozen=True)
class _Component:
    name: str
    kind: AssetKind
    counts: Counts
    ages: tuple[float, float]
    cost: tuple[int, int]
    models: tuple[tuple[str, str], ...]
    room: str
    chance: Chances | None = None


_PC_MODELS = (
    ("Dell", "OptiPlex 3080"),
    ("HP", "ProDesk 400 G7"),
    ("Lenovo", "ThinkCentre M70t"),
    ("MSI", "Cubi 5 12M"),
    ("Asus", "ExpertCenter D500"),
    ("FPT Elead", "T4500"),
)
_COMPONENTS: tuple[_Component, ...] = (
    _Component(
        "counter_pc",
        AssetKind.PC,
        {R: (6, 9), U: (9, 16), ISL: (4, 6)},
        (0, 12),
        (11_000_000, 18_500_000),
        _PC_MODELS,
        "counter",
    ),
    _Component(
        "public_pc",
        AssetKind.PC,
        {R: (1, 2), U: (2, 3), ISL: (0, 1)},
        (5, 10),
        (11_000_000, 16_000_000),
        _PC_MODELS,
        "Khu tự phục vụ (Đề án 06)",
    ),
    _Component(
        "printer",
        AssetKind.PRINTER,
        {R: (3, 5), U: (5, 8), ISL: (2, 3)},
        (2, 8),
        (3_500_000, 6_500_000),
        (
            ("OKI", "B433DN"),
            ("HP", "LaserJet Pro M404dn"),
            ("Canon", "LBP 2900"),
            ("Brother", "HL-L2366DW"),
        ),
        "counter",
    ),
    _Component(
        "mfp",
        AssetKind.MFP,
        {R: (0, 1), U: (1, 2), ISL: (0, 1)},
        (3, 10),
        (18_000_000, 90_000_000),
        (("HP", "LaserJet M706n"), ("Ricoh", "IM 3500"), ("Canon", "imageRUNNER 2625i")),
        "Phòng một cửa",
    ),
    _Component(
        "scanner",
        AssetKind.SCANNER,
        {R: (3, 6), U: (6, 12), ISL: (1, 3)},
        (1, 6),
        (8_500_000, 14_000_000),
        (
            ("Ricoh", "fi-8170"),
            ("Fujitsu", "fi-7160"),
            ("Canon", "DR-C225 II"),
            ("Epson", "DS-530 II"),
        ),
        "counter",
    ),
    _Component(
        "queue",
        AssetKind.QUEUE_MACHINE,
        {R: (1, 1), U: (1, 1), ISL: (1, 1)},
        (0, 5),
        (25_000_000, 45_000_000),
        (("ComQ", "QMS 21.5 inch"), ("Hanel", "HQ-215")),
        "Sảnh chờ",
        {R: 0.6, U: 0.95, ISL: 0.2},
    ),
    _Component(
        "kiosk",
        AssetKind.KIOSK,
        {R: (1, 1), U: (1, 1), ISL: (1, 1)},
        (0, 6),
        (35_000_000, 60_000_000),
        (("ComQ", "Kiosk 43 inch"), ("Hanel", "HK-32")),
        "Sảnh chờ",
        {R: 0.4, U: 0.8, ISL: 0.1},
    ),
    _Component(
        "tablet",
        AssetKind.OTHER,
        {R: (6, 9), U: (9, 14), ISL: (0, 0)},
        (0, 4),
        (3_000_000, 6_000_000),
        (("Samsung", "Galaxy Tab A8"), ("Lenovo", "Tab M10")),
        "counter",
        {R: 0.4, U: 0.7, ISL: 0.0},
    ),
    _Component(
        "camera",
        AssetKind.CAMERA,
        {R: (2, 4), U: (4, 8), ISL: (1, 2)},
        (1, 8),
        (1_500_000, 3_500_000),
        (("Hikvision", "DS-2CD1023G0E-I"), ("Dahua", "IPC-HFW1230S")),
        "Sảnh chờ",
    ),
    _Component(
        "nvr",
        AssetKind.NVR,
        {R: (1, 1), U: (1, 1), ISL: (1, 1)},
        (1, 8),
        (4_000_000, 10_000_000),
        (("Hikvision", "DS-7608NI-K1"), ("Dahua", "NVR4108HS")),
        "Tủ mạng",
    ),
    _Component(
        "tslcd_router",
        AssetKind.ROUTER,
        {R: (1, 1), U: (1, 1), ISL: (1, 1)},
        (3, 10),
        (8_000_000, 16_000_000),
        (("Cisco", "ISR 1111"), ("Huawei", "AR651")),
        "Tủ mạng",
    ),
    _Component(
        "internet_router",
        AssetKind.ROUTER,
        {R: (1, 2), U: (2, 2), ISL: (1, 1)},
        (1, 6),
        (1_500_000, 6_000_000),
        (("VNPT", "iGate GW020-H"), ("Viettel", "F670Y"), ("TP-Link", "ER707-M2")),
        "Tủ mạng",
    ),
    _Component(
        "switch",
        AssetKind.SWITCH,
        {R: (1, 2), U: (2, 3), ISL: (1, 1)},
        (2, 10),
        (3_000_000, 15_000_000),
        (("Cisco", "CBS250-24T-4G"), ("Cisco", "Catalyst 2960L-24TS"), ("TP-Link", "TL-SG3428")),
        "Tủ mạng",
    ),
    _Component(
        "access_point",
        AssetKind.ACCESS_POINT,
        {R: (1, 2), U: (2, 4), ISL: (1, 1)},
        (2, 10),
        (1_500_000, 4_000_000),
        (("TP-Link", "EAP225"), ("Ubiquiti", "UniFi U6 Lite")),
        "Sảnh chờ",
    ),
    _Component(
        "firewall",
        AssetKind.FIREWALL,
        {R: (1, 1), U: (1, 1), ISL: (1, 1)},
        (0, 4),
        (20_000_000, 40_000_000),
        (("Sophos", "XGS 128"), ("Fortinet", "FortiGate 40F")),
        "Tủ mạng",
        {R: 0.2, U: 0.5, ISL: 0.0},
    ),
    _Component(
        "ups",
        AssetKind.UPS,
        {R: (1, 4), U: (2, 5), ISL: (1, 1)},
        (2, 6),
        (3_000_000, 12_000_000),
        (("Santak", "C1K"), ("APC", "SRV2KI")),
        "Tủ mạng",
    ),
    _Component(
        "video_conference",
        AssetKind.VIDEO_CONFERENCE,
        {R: (1, 1), U: (1, 1), ISL: (1, 1)},
        (0, 1.2),
        (25_000_000, 40_000_000),
        (("AVer", "VC520 Pro3"), ("Poly", "Studio X30")),
        "Phòng họp trực tuyến",
        {R: 0.75, U: 1.0, ISL: 1.0},
    ),
)
_TAG_PREFIX = {
    AssetKind.PC: "MT",
    AssetKind.PRINTER: "MI",
    AssetKind.MFP: "MDN",
    AssetKind.SCANNER: "MQ",
    AssetKind.ROUTER: "RT",
    AssetKind.SWITCH: "SW",
    AssetKind.FIREWALL: "FW",
    AssetKind.ACCESS_POINT: "AP",
    AssetKind.UPS: "UPS",
    AssetKind.KIOSK: "KTC",
    AssetKind.QUEUE_MACHINE: "MLS",
    AssetKind.CAMERA: "CAM",
    AssetKind.NVR: "NVR",
    AssetKind.VIDEO_CONFERENCE: "HTT",
    AssetKind.OTHER: "TB",
}
# Counter PCs: 25 % under 2 years, 25 % 2–5, 35 % 5–8, 15 % over 8 (DOMAIN.md §5).
_COUNTER_PC_AGES = ((0.25, (0.1, 2.0)), (0.25, (2.0, 5.0)), (0.35, (5.0, 8.0)), (0.15, (8.0, 12.0)))
_FUNDING = (
    ("Ngân sách tỉnh", 4.0),
    ("Ngân sách xã", 3.0),
    ("Đề án 06", 1.0),
    ("Chương trình chuyển đổi số", 2.0),
)
_OLD_NAMES = (
    "Xuân",
    "Thọ",
    "Hòa",
    "Bình",
    "An",
    "Phú",
    "Tân",
    "Minh",
    "Quang",
    "Hưng",
    "Thanh",
    "Đông",
    "Tây",
    "Long",
    "Vĩnh",
    "Phước",
    "Thịnh",
    "Lộc",
    "Sơn",
    "Hải",
)
_MERGER = date(2025, 7, 1)
# Lives of 141/2025 used only to invent plausible revaluations of inherited equipment.
_LIFE_141 = {AssetKind.PC: 7, AssetKind.PRINTER: 7, AssetKind.MFP: 7, AssetKind.SCANNER: 7}


def _round_cost(value: float) -> int:
    return round(value / 10_000) * 10_000


class _Builder:
    """Builds one commune's assets with its own random stream."""

    def __init__(self, unit: CommuneUnit, seed: int, as_of: date, serials: set[str]) -> None:
        self.unit = unit
        # Synthetic data, not security: a seeded PRNG is the point (same seed, same register).
        self.rng = random.Random(f"{seed}:{unit.commune_code}")  # noqa: S311
        self.as_of = as_of
        self.serials = serials
        self.numbers: dict[AssetKind, int] = {}
        self.assets: list[Asset] = []

    def _serial(self, brand: str) -> str:
        letters = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
        while True:
            serial = brand[:2].upper() + "".join(self.rng.choice(letters) for _ in range(9))
            if serial not in self.serials:
                self.serials.add(serial)
                return serial

    def _tag(self, kind: AssetKind) -> str:
        number = self.numbers.get(kind, 0) + 1
        self.numbers[kind] = number
        return f"{self.unit.commune_code}-{_TAG_PREFIX[kind]}-{number:02d}"

    def _age(self, component: _Component) -> float:
        if component.name == "counter_pc":
            pick = self.rng.random()
            for share, (low, high) in _COUNTER_PC_AGES:
                if pick < share:
                    return self.rng.uniform(low, high)
                pick -= share
        return self.rng.uniform(*component.ages)

    def _status(self, kind: AssetKind, age: float, put: date) -> tuple[AssetStatus, date | None]:
        if kind is AssetKind.PC:
            broken = 0.02 if age < 5 else 0.06 if age < 8 else 0.12
        elif kind in (AssetKind.PRINTER, AssetKind.SCANNER, AssetKind.MFP):
            broken = 0.04 + 0.01 * age
        else:
            broken = 0.02
        pick = self.rng.random()
        since = max(put, self.as_of - timedelta(days=self.rng.randint(5, 180)))
        if pick < broken:
            return AssetStatus.BROKEN, since
        if age > 8 and pick < broken + 0.01:
            return AssetStatus.RETIRED, since
        if age > 8 and pick < broken + 0.02:
            return AssetStatus.TRANSFERRED, since
        return AssetStatus.IN_USE, None

    def _previous_owner(self) -> str:
        first, second = self.rng.sample(_OLD_NAMES, 2)
        level = "huyện" if self.rng.random() < 0.3 else "xã"
        return f"UBND {level} {first} {second} (cũ)"

    def add(self, component: _Component, room: str) -> None:
        kind = component.kind
        age = self._age(component)
        put = self.as_of - timedelta(days=max(1, int(age * 365.25)))
        brand, model = self.rng.choice(component.models)
        cost: int | None = _round_cost(self.rng.uniform(*component.cost))
        status, since = self._status(kind, age, put)
        previous = ""
        revaluation: Revaluation | None = None
        if put < _MERGER and age > 4 and self.rng.random() < 0.6:
            previous = self._previous_owner()
            pick = self.rng.random()
            if pick < 0.08:
                cost = None  # Cost unknown, not yet revalued: no wear until it is.
            elif pick < 0.3 and cost is not None and cost >= 10_000_000:
                life = _LIFE_141.get(kind, 5)
                left_years = max(0, life - int(age))
                remaining = _round_cost(cost * left_years / life)
                revaluation = Revaluation(
                    year=max(put.year, min(self.as_of.year, 2026)),
                    cost=cost,
                    remaining_value=remaining,
                    remaining_life_years=left_years,
                )
                cost = None
        funding = self.rng.choices(
            [name for name, _ in _FUNDING], weights=[weight for _, weight in _FUNDING]
        )[0]
        if kind is AssetKind.VIDEO_CONFERENCE:
            funding = "Doanh nghiệp viễn thông triển khai"
        self.assets.append(
            Asset(
                asset_tag=self._tag(kind),
                kind=kind,
                brand=brand,
                model=model,
                serial=self._serial(brand),
                commune_code=self.unit.commune_code,
                room=room,
                put_into_use=put,
                original_cost=cost,
                revaluation=revaluation,
                funding_source=funding,
                warranty_end=put + timedelta(days=365 * self.rng.choice((1, 2, 3))),
                status=status,
                status_since=since,
                previous_owner=previous,
            )
        )

    def build(self) -> list[Asset]:
        site = site_class(self.unit, self.rng)
        counters = 0
        for component in _COMPONENTS:
            if component.chance is not None and self.rng.random() >= component.chance[site]:
                continue
            low, high = component.counts[site]
            count = self.rng.randint(low, high)
            if component.name == "tablet":
                count = counters
            for index in range(count):
                room = component.room
                if component.name == "counter_pc":
                    # About one staff PC in five sits in a back office, not at a counter.
                    room = "Phòng chuyên môn" if self.rng.random() < 0.2 else f"Quầy {index + 1}"
                    counters += room.startswith("Quầy")
                elif room == "counter":
                    room = f"Quầy {index % max(1, counters) + 1}"
                self.add(component, room)
        return self.assets


def generate_register(
    units_csv: Path,
    province_code: str,
    *,
    seed: int = 0,
    as_of: date = DEFAULT_AS_OF,
    max_communes: int | None = None,
) -> list[Asset]:
    """A register for every commune of ``province_code`` (or the first ``max_communes``)."""
    units = [unit for unit in load_units(units_csv) if unit.province_code == province_code]
    if not units:
        raise ValueError(f"province code {province_code!r} is not in {units_csv}")
    serials: set[str] = set()
    assets: list[Asset] = []
    for unit in units[:max_communes]:
        assets.extend(_Builder(unit, seed, as_of, serials).build())
    return assets
