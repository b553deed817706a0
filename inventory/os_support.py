"""Operating systems out of support (issue 23): end-of-support dates as data, per PC a verdict,
and for finance the PCs to update, upgrade or replace and what that costs.

``os_support.yaml`` lists Microsoft's end-of-support dates with the page of each. The host
check's facts (``os_name``, ``os_version``, the edition inside ``os``; ``cpu_model`` and
``ram_total_bytes`` for Windows 11's requirements) pick an entry; a PC past its entry's date runs
an unsupported system ("hệ điều hành hết hỗ trợ"). What makes it supported again is the entry's
``remedy``: a feature update, an upgrade to Windows 11 where the hardware allows it, or a new PC.
Everything here is pure; :func:`inventory.reports.unsupported_os_plan` reads the store.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from inventory._yaml import load_model

DEFAULT_OS_SUPPORT_PATH = Path(__file__).with_name("os_support.yaml")
_URL = r"^https://\S+$"
# Within this many days of its end of support a PC's system is "ending soon" for the plan.
SOON_DAYS = 365


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Remedy(StrEnum):
    """What makes a PC's system supported again."""

    UPDATE = "update"  # the current feature update of the same Windows
    UPGRADE = "upgrade"  # Windows 11 where the hardware allows it, else a new PC
    REPLACE = "replace"  # no supported Windows runs on a PC of that era


class Action(StrEnum):
    """What finance pays for, for one PC out of support."""

    UPDATE = "update"
    UPGRADE = "upgrade"
    REPLACE = "replace"


class OsLifecycle(_Frozen):
    """One operating system (or one release and edition of it) and its end of support."""

    name: str = Field(min_length=1, max_length=60, description="os_name as the agent reports it")
    versions: tuple[str, ...] = Field(default=(), description="os_version values; empty: any")
    editions: tuple[str, ...] = Field(default=(), description="editions; empty: any")
    end_of_support: date
    esu_until: date | None = None
    remedy: Remedy
    source: str = Field(pattern=_URL)
    esu_source: str | None = Field(default=None, pattern=_URL)

    @model_validator(mode="after")
    def _esu_after_end(self) -> Self:
        if self.esu_until is not None and self.esu_until <= self.end_of_support:
            raise ValueError(
                f"esu_until {self.esu_until} must be after end_of_support {self.end_of_support}"
            )
        return self

    def matches(self, name: str, version: str, edition: str) -> bool:
        """Whether this entry is the system ``name`` ``version`` of ``edition``."""
        return (
            name.casefold() == self.name.casefold()
            and (not self.versions or version.upper() in {v.upper() for v in self.versions})
            and (not self.editions or edition.casefold() in {e.casefold() for e in self.editions})
        )


class Windows11Hardware(_Frozen):
    """What the agent's facts can tell of Windows 11's hardware requirements."""

    min_ram_gb: float = Field(default=4, gt=0)
    cpu_patterns: tuple[str, ...] = Field(min_length=1)
    sources: tuple[str, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _patterns_compile(self) -> Self:
        for number, pattern in enumerate(self.cpu_patterns):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(
                    f"cpu_patterns[{number}] {pattern!r} is not a regular expression: {exc}"
                ) from exc
        return self


class OsCosts(_Frozen):
    """Cost per PC of making it supported without a new PC (whole VND)."""

    update_vnd: int = Field(ge=0, strict=True)
    upgrade_vnd: int = Field(ge=0, strict=True)
    source: str = Field(min_length=1)


class OsSupportTable(_Frozen):
    """The whole data file."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    schema_version: Literal[1] = Field(alias="schema")
    version: str = Field(min_length=1)
    systems: tuple[OsLifecycle, ...] = Field(min_length=1)
    windows11: Windows11Hardware
    costs: OsCosts

    def lifecycle(self, name: str, version: str, edition: str) -> OsLifecycle | None:
        """The first entry for this system, release and edition; None if none is listed."""
        return next((s for s in self.systems if s.matches(name, version, edition)), None)


def load_os_support(path: Path | None = None) -> OsSupportTable:
    """Load the end-of-support table (default: the packaged ``os_support.yaml``)."""
    return load_model(path or DEFAULT_OS_SUPPORT_PATH, OsSupportTable)


def edition_of(facts: Mapping[str, str]) -> str:
    """The Windows edition inside the ``os`` fact ("Windows 10 Professional 10.0.19045")."""
    words = facts.get("os", "").split()
    name_words = len(facts.get("os_name", "").split()) or 2
    middle = words[name_words:]
    if middle and re.fullmatch(r"\d+(\.\d+)+", middle[-1]):
        middle = middle[:-1]
    return middle[0] if middle else ""


@dataclass(frozen=True, slots=True)
class OsStatus:
    """A PC's operating system and, if the table lists it, its end of support."""

    name: str
    version: str
    build: str
    edition: str
    lifecycle: OsLifecycle | None

    @property
    def label(self) -> str:
        """``Windows 10 22H2`` (the edition when it changes the dates: ``... Enterprise``)."""
        # Before Windows 10 the version is only "6.1": the name says it all.
        numeric = re.fullmatch(r"\d+\.\d+", self.version) is not None
        parts = [self.name, "" if numeric or self.version == self.name else self.version]
        if self.lifecycle is not None and self.lifecycle.editions:
            parts.append(self.edition)
        return " ".join(part for part in parts if part)

    @property
    def end_of_support(self) -> date | None:
        """The last day of security updates; None when not known."""
        return self.lifecycle.end_of_support if self.lifecycle is not None else None

    def unsupported(self, as_of: date) -> bool:
        """Whether the system gets no security update any more at ``as_of``."""
        end = self.end_of_support
        return end is not None and as_of > end

    def ending_soon(self, as_of: date, days: int = SOON_DAYS) -> bool:
        """Still supported at ``as_of``, but not for ``days`` more."""
        end = self.end_of_support
        return end is not None and not self.unsupported(as_of) and (end - as_of).days < days


def os_status(facts: Mapping[str, str], table: OsSupportTable) -> OsStatus | None:
    """The OS of a PC from its facts; None when the agent did not report one."""
    name = facts.get("os_name", "").strip()
    if not name:
        return None
    version = facts.get("os_version", "").strip()
    edition = edition_of(facts)
    return OsStatus(
        name, version, facts.get("os_build", ""), edition, table.lifecycle(name, version, edition)
    )


def windows11_capable(facts: Mapping[str, str], table: OsSupportTable) -> bool:
    """Whether the PC's processor and memory meet Windows 11's requirements, as far as known
    (an unknown processor does not: budgeting for a PC that turns out upgradable is safer)."""
    hardware = table.windows11
    cpu = facts.get("cpu_model", "")
    if not any(re.search(pattern, cpu, re.IGNORECASE) for pattern in hardware.cpu_patterns):
        return False
    try:
        ram_gb = int(facts.get("ram_total_bytes", "0")) / 2**30
    except ValueError:
        return False
    # Firmware reserves some memory: a 4 GB PC reports a little under 4 GiB.
    return ram_gb >= hardware.min_ram_gb * 0.9


def action_for(
    status: OsStatus, facts: Mapping[str, str], table: OsSupportTable, *, past_life: bool = False
) -> Action:
    """What it takes to make a PC out of support supported again. A PC past its useful life
    (the register says so) is replaced rather than upgraded."""
    remedy = status.lifecycle.remedy if status.lifecycle is not None else Remedy.REPLACE
    if remedy is Remedy.REPLACE or past_life:
        return Action.REPLACE
    if remedy is Remedy.UPDATE:
        return Action.UPDATE
    return Action.UPGRADE if windows11_capable(facts, table) else Action.REPLACE


ACTION_TEXT: dict[Action, tuple[str, str]] = {
    Action.UPDATE: ("cập nhật phiên bản Windows mới", "install the current feature update"),
    Action.UPGRADE: ("nâng cấp lên Windows 11", "upgrade to Windows 11"),
    Action.REPLACE: ("thay máy mới", "replace the PC"),
}


class OsLine(_Frozen):
    """One PC out of support: what it runs, since when, and what making it supported costs."""

    commune_code: str
    device_id: str
    asset_tag: str | None
    os: str
    end_of_support: date
    action: Action
    cost_vnd: int
    reason_vi: str
    reason_en: str


class OsPlan(_Frozen):
    """For finance: the PCs whose operating system is out of support, counted and costed."""

    as_of: date
    pcs_known: int = Field(description="PCs whose operating system the agents reported")
    unsupported: int
    ending_soon: int = Field(description=f"still supported, but for less than {SOON_DAYS} days")
    replace: int
    replace_cost: int
    upgrade: int = Field(description="upgraded or updated in place")
    upgrade_cost: int
    total_cost: int
    table_version: str
    lines: tuple[OsLine, ...]


@dataclass(frozen=True, slots=True)
class SeenPc:
    """A PC the agents reported: its facts and, when reconciled, its register line's view."""

    commune_code: str
    device_id: str
    facts: Mapping[str, str]
    asset_tag: str | None = None
    past_life: bool = False
    replace_price: int | None = None


def _line(pc: SeenPc, status: OsStatus, table: OsSupportTable, pc_price: int) -> OsLine:
    action = action_for(status, pc.facts, table, past_life=pc.past_life)
    end = status.end_of_support
    assert end is not None  # only PCs out of support get a line
    cost = {
        Action.UPDATE: table.costs.update_vnd,
        Action.UPGRADE: table.costs.upgrade_vnd,
        Action.REPLACE: pc.replace_price or pc_price,
    }[action]
    do_vi, do_en = ACTION_TEXT[action]
    why_vi = ", máy đã quá thời gian sử dụng" if pc.past_life and action is Action.REPLACE else ""
    why_en = ", the PC is past its useful life" if pc.past_life and action is Action.REPLACE else ""
    return OsLine(
        commune_code=pc.commune_code,
        device_id=pc.device_id,
        asset_tag=pc.asset_tag,
        os=status.label,
        end_of_support=end,
        action=action,
        cost_vnd=cost,
        reason_vi=f"Hệ điều hành hết hỗ trợ: {status.label} (từ {end:%d/%m/%Y}); {do_vi}{why_vi}",
        reason_en=f"Operating system out of support: {status.label} (since {end:%d/%m/%Y}); "
        f"{do_en}{why_en}",
    )


def os_plan(pcs: Iterable[SeenPc], table: OsSupportTable, *, as_of: date, pc_price: int) -> OsPlan:
    """The PCs out of support at ``as_of`` with their action and cost (``pc_price`` for a new
    PC not in the register), worst first (the longest out of support)."""
    known = soon = 0
    lines: list[OsLine] = []
    for pc in pcs:
        status = os_status(pc.facts, table)
        if status is None:
            continue
        known += 1
        if status.unsupported(as_of):
            lines.append(_line(pc, status, table, pc_price))
        elif status.ending_soon(as_of):
            soon += 1
    lines.sort(key=lambda line: (line.end_of_support, line.commune_code, line.device_id))
    replace = [line for line in lines if line.action is Action.REPLACE]
    upgrade = [line for line in lines if line.action is not Action.REPLACE]
    return OsPlan(
        as_of=as_of,
        pcs_known=known,
        unsupported=len(lines),
        ending_soon=soon,
        replace=len(replace),
        replace_cost=sum(line.cost_vnd for line in replace),
        upgrade=len(upgrade),
        upgrade_cost=sum(line.cost_vnd for line in upgrade),
        total_cost=sum(line.cost_vnd for line in lines),
        table_version=table.version,
        lines=tuple(lines),
    )
