"""Routing as data: (problem class, commune set, device kind) -> the owner who must act.

Owners are teams or vendor contracts with their channels, SLA and escalation. Routes are tried in
file order; the first whose every condition matches wins. A ticket no route matches still gets an
owner, the province's default team, and is flagged ``unrouted`` so somebody fixes the routing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agent.wire import DeviceKind
from alerts.errors import RulesError
from alerts.notify import apprise_url_valid, scheme_of
from alerts.rules import Duration, ProblemClass


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Channel(_Model):
    """Where an owner is told: an e-mail address, a webhook URL (generic JSON) or an apprise URL.

    An apprise URL (``tgram://bot_token/chat_id`` ...) holds the service's credentials: keep the
    routing file as private as the collector's settings.
    """

    type: Literal["email", "webhook", "apprise"]
    to: str = Field(min_length=3, max_length=300, description="Address or URL")

    @model_validator(mode="after")
    def _apprise_url(self) -> Channel:
        # Checked on load, so a typo fails check-rules instead of filling the outbox with retries.
        if self.type == "apprise" and not apprise_url_valid(self.to):
            raise ValueError(
                f"not an apprise URL apprise can use (scheme {scheme_of(self.to)!r}); "
                "e.g. tgram://BOT_TOKEN/CHAT_ID"
            )
        return self


class Sla(_Model):
    """How fast the owner must acknowledge and resolve."""

    respond: Duration
    resolve: Duration


class Owner(_Model):
    """A team or a vendor contract."""

    kind: Literal["team", "vendor"]
    name_vi: str
    name_en: str = ""
    channels: list[Channel] = Field(default_factory=list)
    sla: Sla
    # Who is told as well when the SLA is breached.
    escalate_to: str | None = None
    # SHA-256 of the bearer token a vendor's technicians use: they see only this owner's tickets.
    token_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    # Grouped digests: the owner's changes wait for the end of a window of this many minutes
    # (aligned to Hà Nội midnight) and go out as one message per channel. None: one each.
    digest_minutes: int | None = Field(default=None, ge=1, le=1440)


class Route(_Model):
    """One routing rule; an empty condition matches everything."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")
    problem_classes: list[ProblemClass] = Field(default_factory=list)
    communes: list[str] = Field(default_factory=list)
    device_kinds: list[DeviceKind] = Field(default_factory=list)
    owner: str


@dataclass(frozen=True, slots=True)
class Decision:
    """Who owns a ticket and why."""

    owner_id: str
    owner: Owner
    route: str | None  # None: no route matched, the default team took it
    unrouted: bool


@dataclass(frozen=True)
class Routing:
    """Owners, routes and the default team of one province."""

    owners: dict[str, Owner]
    routes: tuple[Route, ...]
    default_owner: str

    def route(
        self, problem_class: str, commune_code: str | None, device_kind: str | None
    ) -> Decision:
        """The owner of a ticket of this class, commune and device kind."""
        for route in self.routes:
            if route.problem_classes and problem_class not in route.problem_classes:
                continue
            if route.communes and (commune_code is None or commune_code not in route.communes):
                continue
            if route.device_kinds and (
                device_kind is None or device_kind not in route.device_kinds
            ):
                continue
            return Decision(route.owner, self.owners[route.owner], route.name, False)
        return Decision(self.default_owner, self.owners[self.default_owner], None, True)

    def digest_targets(self) -> frozenset[tuple[str, str]]:
        """(channel type, target) of every owner that wants grouped digests."""
        return frozenset(
            (channel.type, channel.to)
            for owner in self.owners.values()
            if owner.digest_minutes is not None
            for channel in owner.channels
        )

    def owner_for_token(self, token: str) -> str | None:
        """The vendor whose technicians hold ``token``, or None."""
        digest = hashlib.sha256(token.encode()).hexdigest()
        for owner_id, owner in self.owners.items():
            if owner.token_sha256 is not None and owner.token_sha256 == digest:
                return owner_id
        return None


def _error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "(entry)"
    value = first.get("input")
    if isinstance(value, dict) and value.get("type") == "apprise":
        # An apprise URL carries the service's token: never echo it into logs or terminals.
        value = {**value, "to": f"{scheme_of(str(value.get('to', '')))}://..."}
    return f"field '{field}': {first['msg']} (got {value!r})"


def parse_routing(text: str, source: str = "routing.yaml") -> Routing:
    """Validate a routing document; errors name the file, the owner or route, and the field."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RulesError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise RulesError(f"{source}: expected a mapping with default_owner, owners and routes")
    unknown = set(data) - {"default_owner", "owners", "routes"}
    if unknown:
        raise RulesError(
            f"{source}: unknown field(s) {', '.join(sorted(map(str, unknown)))}; "
            "allowed: default_owner, owners, routes"
        )
    raw_owners: Any = data.get("owners") or {}
    if not isinstance(raw_owners, dict) or not raw_owners:
        raise RulesError(f"{source}, field 'owners': expected a non-empty mapping of owner ids")
    owners: dict[str, Owner] = {}
    for owner_id, raw in raw_owners.items():
        try:
            owners[str(owner_id)] = Owner.model_validate(raw)
        except ValidationError as exc:
            raise RulesError(f"{source} owner '{owner_id}', {_error(exc)}") from None
    for owner_id, owner in owners.items():
        if owner.escalate_to is not None and owner.escalate_to not in owners:
            raise RulesError(
                f"{source} owner '{owner_id}', field 'escalate_to': {owner.escalate_to!r} is not "
                f"an owner; known: {', '.join(owners)}"
            )
    default = data.get("default_owner")
    if default not in owners:
        raise RulesError(
            f"{source}, field 'default_owner': {default!r} is not an owner; known: "
            f"{', '.join(owners)}"
        )
    raw_routes: Any = data.get("routes") or []
    if not isinstance(raw_routes, list):
        raise RulesError(f"{source}, field 'routes': expected a list")
    routes: list[Route] = []
    for number, raw in enumerate(raw_routes):
        label = raw.get("name") if isinstance(raw, dict) else None
        where = f"{source} route {number}{f' ({label})' if label else ''}"
        try:
            route = Route.model_validate(raw)
        except ValidationError as exc:
            raise RulesError(f"{where}, {_error(exc)}") from None
        if route.owner not in owners:
            raise RulesError(
                f"{where}, field 'owner': {route.owner!r} is not an owner; known: "
                f"{', '.join(owners)}"
            )
        routes.append(route)
    return Routing(owners=owners, routes=tuple(routes), default_owner=str(default))


def load_routing(path: Path | None = None) -> Routing:
    """A routing file, or the bundled example."""
    if path is None:
        text = resources.files("alerts").joinpath("routing.yaml").read_text(encoding="utf-8")
        return parse_routing(text, "routing.yaml")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_routing(text, path.name)


def sla_deadlines(owner: Owner) -> tuple[timedelta, timedelta]:
    """The owner's respond and resolve durations."""
    return owner.sla.respond, owner.sla.resolve
