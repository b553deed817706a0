"""The simulated province: its communes, site classes, agents and monitored devices.

The equipment comes from :func:`inventory.sample_register.generate_register` (DOMAIN.md §5
counts, age mix, brands, serials, costs), so the register a demo loads and the devices that report
are the same objects: a device's id is its asset tag and its facts carry the register's serial.
Deterministic for a seed: the same (CSV, province, seed, commune limit) gives the same fleet.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from agent.wire import DeviceKind
from inventory.models import Asset, AssetKind, AssetStatus
from inventory.register_io import register_to_csv
from inventory.sample_register import (
    DEFAULT_AS_OF,
    CommuneUnit,
    SiteClass,
    generate_register,
    load_units,
    site_class,
)
from sim.workstation import PcSetup, draw_setup

# Kinds a site agent watches over the LAN (SNMP or ping). Scanners are USB devices of the counter
# PCs and tablets/QR stands ("other") have nothing to poll: they stay in the register only.
SITE_KINDS = frozenset(
    {
        AssetKind.PRINTER,
        AssetKind.MFP,
        AssetKind.ROUTER,
        AssetKind.SWITCH,
        AssetKind.FIREWALL,
        AssetKind.ACCESS_POINT,
        AssetKind.UPS,
        AssetKind.KIOSK,
        AssetKind.QUEUE_MACHINE,
        AssetKind.CAMERA,
        AssetKind.NVR,
        AssetKind.VIDEO_CONFERENCE,
    }
)
# Round-trip time to the provincial data centre per site class: fibre 5–30 ms, island/upland sites
# on radio or 4G 50–150 ms (DOMAIN.md §5, "Links and bandwidth"; assumptions there too).
_RTT_MS = {
    SiteClass.RURAL: (8.0, 30.0),
    SiteClass.URBAN: (5.0, 15.0),
    SiteClass.ISLAND_OR_UPLAND: (50.0, 150.0),
}
# Dossiers a day per site class (DOMAIN.md §5): drives printing and PC load.
_DOSSIERS = {
    SiteClass.RURAL: (10, 40),
    SiteClass.URBAN: (40, 150),
    SiteClass.ISLAND_OR_UPLAND: (3, 15),
}


@dataclass(frozen=True, slots=True)
class SimDevice:
    """One monitored device: its register line plus what the behaviour model needs."""

    device_id: str
    kind: DeviceKind
    commune_code: str
    brand: str
    model: str
    serial: str
    room: str
    age_years: float
    cost_vnd: int | None
    # PCs: installed memory and system disk; old reused machines have 4 GB and small disks.
    memory_gb: int = 0
    disk_gb: int = 0
    # Index within the fleet, used to derive per-device noise streams cheaply.
    index: int = 0
    # Counter PCs: Windows, processor, signing bridges and the clerk's token (sim.workstation).
    pc: PcSetup | None = None


@dataclass(frozen=True, slots=True)
class SimAgent:
    """One simulated agent: a counter PC's own agent, or the site agent of a commune."""

    key: str  # stable name, e.g. "25117/pc/25117-MT-03" or "25117/site"
    commune_code: str
    role: str  # "pc" or "site"
    hostname: str
    devices: tuple[SimDevice, ...]


@dataclass(frozen=True, slots=True)
class SimCommune:
    """One commune centre of the province."""

    code: str
    name: str
    commune_type: str
    site_class: SiteClass
    rtt_ms: float
    dossiers_per_day: int
    agents: tuple[SimAgent, ...]

    @property
    def devices(self) -> tuple[SimDevice, ...]:
        """Every monitored device of the commune, PCs first."""
        return tuple(device for agent in self.agents for device in agent.devices)


@dataclass(frozen=True)
class Fleet:
    """A whole simulated province."""

    province_code: str
    province_name: str
    seed: int
    as_of: date
    communes: tuple[SimCommune, ...]
    register: tuple[Asset, ...]

    @property
    def agents(self) -> tuple[SimAgent, ...]:
        """Every agent of the province, commune by commune."""
        return tuple(agent for commune in self.communes for agent in commune.agents)

    @property
    def devices(self) -> tuple[SimDevice, ...]:
        """Every monitored device of the province."""
        return tuple(device for commune in self.communes for device in commune.devices)

    def commune(self, code: str) -> SimCommune:
        """The commune with this code; KeyError if it is not in the fleet."""
        for commune in self.communes:
            if commune.code == code:
                return commune
        raise KeyError(code)

    def write_register(self, path: Path) -> Path:
        """Write the asset register (Vietnamese headers, as the import expects) to ``path``."""
        path.write_bytes(register_to_csv(self.register))
        return path


def _device(asset: Asset, index: int, rng: random.Random, as_of: date, seed: int) -> SimDevice:
    age = max(0.0, (as_of - asset.put_into_use).days / 365.25)
    memory = disk = 0
    setup: PcSetup | None = None
    if asset.kind is AssetKind.PC:
        # Machines over 5 years are mostly the 4 GB office PCs reused after the 2025 merger.
        memory = (4 if rng.random() < 0.8 else 8) if age > 5 else rng.choice((8, 8, 16))
        disk = 250 if age > 5 else rng.choice((256, 512))
        setup = draw_setup(asset.asset_tag, asset.room, asset.brand, age, memory, seed)
    return SimDevice(
        device_id=asset.asset_tag,
        kind=DeviceKind(asset.kind.value),
        commune_code=asset.commune_code,
        brand=asset.brand,
        model=asset.model,
        serial=asset.serial or "",
        room=asset.room,
        age_years=round(age, 2),
        cost_vnd=asset.cost_basis,
        memory_gb=memory,
        disk_gb=disk,
        index=index,
        pc=setup,
    )


def _commune(
    unit: CommuneUnit, assets: list[Asset], seed: int, as_of: date, first_index: int
) -> SimCommune:
    # The register builder draws the site class first from this same stream: redrawing it here
    # gives the class the register was built with, without reaching into its internals.
    klass = site_class(unit, random.Random(f"{seed}:{unit.commune_code}"))  # noqa: S311
    rng = random.Random(f"{seed}:{unit.commune_code}:fleet")  # noqa: S311 - synthetic data
    agents: list[SimAgent] = []
    site_devices: list[SimDevice] = []
    index = first_index
    for asset in assets:
        # Broken, retired and transferred equipment is in the register but does not report.
        if asset.status is not AssetStatus.IN_USE:
            continue
        if asset.kind is AssetKind.PC:
            device = _device(asset, index, rng, as_of, seed)
            index += 1
            agents.append(
                SimAgent(
                    key=f"{unit.commune_code}/pc/{asset.asset_tag}",
                    commune_code=unit.commune_code,
                    role="pc",
                    hostname=asset.asset_tag.lower(),
                    devices=(device,),
                )
            )
        elif asset.kind in SITE_KINDS:
            site_devices.append(_device(asset, index, rng, as_of, seed))
            index += 1
    agents.append(
        SimAgent(
            key=f"{unit.commune_code}/site",
            commune_code=unit.commune_code,
            role="site",
            hostname=f"{unit.commune_code}-site",
            devices=tuple(site_devices),
        )
    )
    low, high = _RTT_MS[klass]
    dossiers_low, dossiers_high = _DOSSIERS[klass]
    return SimCommune(
        code=unit.commune_code,
        name=unit.commune_name,
        commune_type=unit.commune_type,
        site_class=klass,
        rtt_ms=round(rng.uniform(low, high), 1),
        dossiers_per_day=rng.randint(dossiers_low, dossiers_high),
        agents=tuple(agents),
    )


def generate_fleet(
    units_csv: Path,
    province_code: str,
    *,
    seed: int = 0,
    max_communes: int | None = None,
    as_of: date = DEFAULT_AS_OF,
) -> Fleet:
    """The fleet of ``province_code`` (all its communes, or the first ``max_communes``)."""
    units = [unit for unit in load_units(units_csv) if unit.province_code == province_code]
    if not units:
        raise ValueError(f"province code {province_code!r} is not in {units_csv}")
    units = units[:max_communes]
    register = generate_register(
        units_csv, province_code, seed=seed, as_of=as_of, max_communes=max_communes
    )
    by_commune: dict[str, list[Asset]] = {}
    for asset in register:
        by_commune.setdefault(asset.commune_code, []).append(asset)
    communes: list[SimCommune] = []
    index = 0
    for unit in units:
        commune = _commune(unit, by_commune.get(unit.commune_code, []), seed, as_of, index)
        index += len(commune.devices)
        communes.append(commune)
    return Fleet(
        province_code=province_code,
        province_name=units[0].province_name,
        seed=seed,
        as_of=as_of,
        communes=tuple(communes),
        register=tuple(register),
    )
