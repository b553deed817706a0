"""A year of synthetic rollups per asset of a sample register, deterministic for a seed.

Failures, p95 memory and CPU, disk use, SMART warnings, print volume and the commune's workload,
older and busier devices doing worse: the measured side of the priority score, for tests and the
upgrade-plan benchmark (``sample_register`` makes the register itself).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Mapping
from datetime import date

from inventory.models import Asset, AssetKind, AssetStatus
from inventory.priority import AssetSignals
from inventory.sample_register import DEFAULT_AS_OF


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: fine for the small means used here.
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _commune_workloads(assets: Iterable[Asset], seed: int) -> dict[str, float]:
    counters: dict[str, int] = {}
    for asset in assets:
        if asset.kind is AssetKind.PC and asset.room.startswith("Quầy"):
            counters[asset.commune_code] = counters.get(asset.commune_code, 0) + 1
    out: dict[str, float] = {}
    for code, count in counters.items():
        rng = random.Random(f"{seed}:workload:{code}")  # noqa: S311
        out[code] = round(count * rng.uniform(2.5, 9.0), 1)
    return out


def generate_signals(
    assets: Iterable[Asset],
    *,
    seed: int = 0,
    as_of: date = DEFAULT_AS_OF,
    workloads: Mapping[str, float] | None = None,
) -> dict[str, AssetSignals]:
    """A year of synthetic rollups per asset tag, older and busier devices doing worse."""
    held = list(assets)
    loads = dict(workloads) if workloads is not None else _commune_workloads(held, seed)
    out: dict[str, AssetSignals] = {}
    for asset in held:
        rng = random.Random(f"{seed}:signals:{asset.asset_tag}")  # noqa: S311
        age = max(0.0, (as_of - asset.put_into_use).days / 365.25)
        workload = loads.get(asset.commune_code)
        broken = asset.status is AssetStatus.BROKEN
        uniform: Callable[[float, float], float] = rng.uniform
        kind = asset.kind
        if kind is AssetKind.PC or kind is AssetKind.KIOSK:
            old = age > 5
            out[asset.asset_tag] = AssetSignals(
                failures_12m=_poisson(rng, 0.3 + 0.25 * age + (2 if broken else 0)),
                p95_memory_percent=round(uniform(82, 99.5) if old else uniform(45, 88), 1),
                p95_cpu_percent=round(uniform(25, 70) + min(25.0, age * 2.5), 1),
                disk_used_percent=round(uniform(35, 99), 1),
                smart_warnings=rng.randint(1, 3) if age > 6 and rng.random() < 0.2 else 0,
                workload_dossiers_per_day=workload,
            )
        elif kind in (AssetKind.PRINTER, AssetKind.MFP):
            base = 2_500 if kind is AssetKind.PRINTER else 8_000
            out[asset.asset_tag] = AssetSignals(
                failures_12m=_poisson(rng, 0.8 + 0.4 * age + (2 if broken else 0)),
                pages_per_month=round(base * rng.lognormvariate(0, 0.6)),
                workload_dossiers_per_day=workload,
            )
        elif kind in (AssetKind.ROUTER, AssetKind.FIREWALL, AssetKind.SWITCH):
            out[asset.asset_tag] = AssetSignals(
                failures_12m=_poisson(rng, 0.2 + 0.15 * age + (2 if broken else 0)),
                p95_cpu_percent=round(uniform(10, 60) + min(35.0, age * 4), 1),
                workload_dossiers_per_day=workload,
            )
        else:
            out[asset.asset_tag] = AssetSignals(
                failures_12m=_poisson(rng, 0.2 + 0.2 * age + (2 if broken else 0)),
                workload_dossiers_per_day=workload,
            )
    return out
