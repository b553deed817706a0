"""The asset record of the register: one piece of equipment of one commune centre.

Kinds use the same strings as ``agent.wire.DeviceKind`` (minus ``service`` and ``link``, which are
not equipment), so the register and what the agents discover can be reconciled by kind; a test
checks the two enums stay in step.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

# 141/2025/TT-BTC Art. 3.2b (same in 23/2023 Art. 3): a fixed asset costs at least this much.
FIXED_ASSET_MIN_COST_VND = 10_000_000

CommuneCode = Annotated[str, StringConstraints(pattern=r"^\d{5}$")]
"""A commune-level unit code of QĐ 19/2025/QĐ-TTg: five digits, leading zeros kept."""

Vnd = Annotated[int, Field(ge=0, strict=True)]
"""An amount in whole Vietnamese đồng (141/2025 Art. 5.1: the figures are whole numbers)."""

AssetTag = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]+$"
    ),
]
"""The unit's own inventory number (mã tài sản), unique in the province."""

_Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class AssetKind(StrEnum):
    """What an asset is; the same strings as ``agent.wire.DeviceKind`` values."""

    PC = "pc"
    PRINTER = "printer"
    MFP = "mfp"
    SCANNER = "scanner"
    ROUTER = "router"
    SWITCH = "switch"
    FIREWALL = "firewall"
    ACCESS_POINT = "access_point"
    UPS = "ups"
    KIOSK = "kiosk"
    QUEUE_MACHINE = "queue_machine"
    CAMERA = "camera"
    NVR = "nvr"
    VIDEO_CONFERENCE = "video_conference"
    OTHER = "other"


class AssetStatus(StrEnum):
    """Where an asset stands: in use, broken, disposed of (retired) or handed to another unit."""

    IN_USE = "in_use"
    BROKEN = "broken"
    RETIRED = "retired"
    TRANSFERRED = "transferred"


# (Vietnamese, English) labels for user-facing text and exports; Vietnamese first.
KIND_LABELS: dict[AssetKind, tuple[str, str]] = {
    AssetKind.PC: ("Máy vi tính", "Computer"),
    AssetKind.PRINTER: ("Máy in", "Printer"),
    AssetKind.MFP: ("Máy in đa năng/photocopy", "Multifunction printer/copier"),
    AssetKind.SCANNER: ("Máy quét tài liệu", "Document scanner"),
    AssetKind.ROUTER: ("Bộ định tuyến", "Router"),
    AssetKind.SWITCH: ("Thiết bị chuyển mạch", "Switch"),
    AssetKind.FIREWALL: ("Tường lửa", "Firewall"),
    AssetKind.ACCESS_POINT: ("Điểm truy cập Wi-Fi", "Wi-Fi access point"),
    AssetKind.UPS: ("Bộ lưu điện", "UPS"),
    AssetKind.KIOSK: ("Máy tra cứu", "Look-up kiosk"),
    AssetKind.QUEUE_MACHINE: ("Máy lấy số thứ tự", "Queue-ticket machine"),
    AssetKind.CAMERA: ("Camera", "Camera"),
    AssetKind.NVR: ("Đầu ghi hình", "Network video recorder"),
    AssetKind.VIDEO_CONFERENCE: ("Thiết bị họp trực tuyến", "Video-conference set"),
    AssetKind.OTHER: ("Thiết bị khác", "Other equipment"),
}

STATUS_LABELS: dict[AssetStatus, tuple[str, str]] = {
    AssetStatus.IN_USE: ("Đang sử dụng", "In use"),
    AssetStatus.BROKEN: ("Hỏng", "Broken"),
    AssetStatus.RETIRED: ("Đã thanh lý", "Retired"),
    AssetStatus.TRANSFERRED: ("Đã điều chuyển", "Transferred"),
}


class Revaluation(BaseModel):
    """A revaluation of equipment received without usable books (141/2025 Art. 18.4, Art. 6.3a).

    Equipment inherited in the 2025 merger from a dissolved unit often has no known original cost;
    the receiving unit revalues its cost (nguyên giá), remaining value and remaining life. Wear is
    then computed from the revaluation year only.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    year: int = Field(ge=2000, le=2100, description="Fiscal year of the revaluation record")
    cost: Vnd = Field(description="Cost (nguyên giá) set by the revaluation, whole VND")
    remaining_value: Vnd | None = Field(
        default=None,
        description="Remaining value set by the revaluation; None = worn as if booked at that cost",
    )
    remaining_life_years: int | None = Field(
        default=None,
        ge=0,
        le=50,
        description="Remaining life set by the revaluation; None = class life minus years used",
    )

    @model_validator(mode="after")
    def _remaining_within_cost(self) -> Self:
        if self.remaining_value is not None and self.remaining_value > self.cost:
            raise ValueError(
                f"remaining_value {self.remaining_value} is more than the revalued cost {self.cost}"
            )
        return self


class Asset(BaseModel):
    """One register line: a piece of equipment of one commune centre, with its book values."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    asset_tag: AssetTag
    kind: AssetKind
    brand: _Text = ""
    model: _Text = ""
    serial: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None
    commune_code: CommuneCode
    room: _Text = Field(default="", description="Room or counter, e.g. 'Quầy 3'")
    put_into_use: date = Field(description="Date the asset was put into use (ngày đưa vào sử dụng)")
    original_cost: Vnd | None = Field(default=None, description="Original cost; None = unknown")
    revaluation: Revaluation | None = None
    funding_source: _Text = ""
    warranty_end: date | None = None
    status: AssetStatus = AssetStatus.IN_USE
    status_since: date | None = Field(
        default=None, description="When the status began (broken, retired...); None = unknown"
    )
    previous_owner: _Text = Field(default="", description="Former unit, for 2025 merger equipment")
    asset_class: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")] | None = (
        Field(default=None, description="Class key of lives.yaml; None = the kind's default class")
    )
    years_used_before_purchase: int = Field(
        default=0, ge=0, le=50, description="Bought second-hand: years already used (Art. 13.1h)"
    )

    @model_validator(mode="after")
    def _consistent_dates(self) -> Self:
        if self.status_since is not None and self.status_since < self.put_into_use:
            raise ValueError(
                f"status_since {self.status_since.isoformat()} is before put_into_use "
                f"{self.put_into_use.isoformat()}"
            )
        if self.revaluation is not None and self.revaluation.year < self.put_into_use.year:
            raise ValueError(
                f"revaluation year {self.revaluation.year} is before the year the asset was put "
                f"into use ({self.put_into_use.year})"
            )
        return self

    @field_validator("serial")
    @classmethod
    def _empty_serial_is_none(cls, value: str | None) -> str | None:
        # An empty serial means "none recorded"; one spelling keeps duplicate checks simple.
        return value or None

    @property
    def cost_basis(self) -> int | None:
        """The cost wear is computed on: the revalued cost if any, else the original cost."""
        if self.revaluation is not None:
            return self.revaluation.cost
        return self.original_cost

    @property
    def is_fixed_asset(self) -> bool:
        """True when the cost is ≥ 10,000,000 VND (141/2025 Art. 3.2b).

        The other condition, a wear life of at least one year, holds for every class of
        ``lives.yaml`` (its loader rejects shorter lives), so the cost decides. An asset whose cost
        is unknown and not revalued is treated as a tool/supply: it has an age but no wear.
        """
        cost = self.cost_basis
        return cost is not None and cost >= FIXED_ASSET_MIN_COST_VND

    @property
    def in_service(self) -> bool:
        """True while the unit still holds the asset (in use or broken, not disposed of)."""
        return self.status in (AssetStatus.IN_USE, AssetStatus.BROKEN)
