"""Routing as data: (problem class, commune set, device kind, system) -> the owner who must act.

Owners are teams or vendor contracts with their channels, SLA and escalation. Routes are tried in
file order; the first whose every condition matches wins. A ticket no route matches still gets an
owner, the province's default team, and is flagged ``unrouted`` so somebody fixes the routing.

Channel addresses may name environment variables, ``tgram://${CM_TG_TOKEN}/-100123``, so bot
tokens and webhook secrets stay out of the file; they are resolved only when a message is sent
(:meth:`Routing.destination`), and the outbox stores the channel's reference (owner + channel id),
never the address.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agent.wire import DeviceKind
from alerts.channels import apprise_url_valid, scheme_of
from alerts.errors import ChannelError, RulesError
from alerts.rules import Duration, ProblemClass


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# ``${NAME}`` in a channel address: the value of environment variable NAME at send time.
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
CHANNEL_ID = r"^[a-z][a-z0-9_-]{0,39}$"


def _usable(kind: str, address: str) -> str | None:
    """Why a resolved address cannot be used by a channel of ``kind``, or None."""
    if kind == "apprise" and not apprise_url_valid(address):
        return (
            f"not an apprise URL apprise can use (scheme {scheme_of(address)!r}); "
            "e.g. tgram://BOT_TOKEN/CHAT_ID"
        )
    if kind == "webhook" and not address.startswith(("http://", "https://")):
        return f"not an http:// or https:// URL (scheme {scheme_of(address)!r})"
    return None


class Channel(_Model):
    """Where an owner is told: an e-mail address, a webhook URL (generic JSON) or an apprise URL.

    ``to`` may hold ``${VARIABLE}`` references, resolved from the environment when a message is
    sent; a URL carrying a bot token or secret path should name its secret that way. ``id``
    (default: the type, then ``type-2``, ``type-3`` ... for more of one type) is what outbox rows
    refer to, so keep it when editing the address.
    """

    type: Literal["email", "webhook", "apprise"]
    to: str = Field(min_length=3, max_length=1000, description="Address or URL")
    id: str = Field(pattern=CHANNEL_ID)

    @model_validator(mode="after")
    def _address(self) -> Channel:
        for name in _VARIABLE.findall(self.to):
            if not _VARIABLE_NAME.match(name):
                raise ValueError(
                    f"${{{name}}} is not a variable reference; use ${{NAME}} with letters, "
                    "digits and _"
                )
        if "${" in _VARIABLE.sub("", self.to):
            raise ValueError("an unclosed '${' (a variable is written ${NAME})")
        # Checked on load, so a typo fails check-rules instead of filling the outbox with
        # retries; an address built from variables is checked once they are resolved.
        problem = None if self.variables() else _usable(self.type, self.to)
        if problem is not None:
            raise ValueError(problem)
        return self

    def variables(self) -> tuple[str, ...]:
        """The environment variables the address names, in order, once each."""
        return tuple(dict.fromkeys(_VARIABLE.findall(self.to)))


@dataclass(frozen=True, slots=True)
class Destination:
    """A channel resolved for one send: the address, and the values taken from variables (to be
    kept out of logs). Never stored."""

    channel: Channel
    address: str
    secrets: tuple[str, ...]


class Sla(_Model):
    """How fast the owner must acknowledge and resolve, and on which clock: round the clock
    (``24x7``, an ISP's line) or in the working calendar's open hours (``working_hours``, a
    commune IT officer), across nights, weekends and holidays."""

    respond: Duration
    resolve: Duration
    clock: Literal["24x7", "working_hours"] = "24x7"


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
    # The console user (role vendor, this owner) the token belongs to: it works only while that
    # user is enabled, and what it does is recorded under that user's name. A token without one
    # is refused by the API.
    token_user: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9._-]{1,63}$")
    # Grouped digests: the owner's changes wait for the end of a window of this many minutes
    # (aligned to Hà Nội midnight) and go out as one message per channel. None: one each.
    digest_minutes: int | None = Field(default=None, ge=1, le=1440)

    @model_validator(mode="before")
    @classmethod
    def _channel_ids(cls, data: Any) -> Any:
        # Default ids by type: stable when channels of different types are reordered.
        if not isinstance(data, dict) or not isinstance(data.get("channels"), list):
            return data
        seen: Counter[str] = Counter()
        channels = []
        for raw in data["channels"]:
            if isinstance(raw, dict) and raw.get("id") is None:
                kind = str(raw.get("type", "channel"))
                seen[kind] += 1
                raw = {**raw, "id": kind if seen[kind] == 1 else f"{kind}-{seen[kind]}"}
            channels.append(raw)
        return {**data, "channels": channels}

    def channel(self, channel_id: str) -> Channel | None:
        """The owner's channel with ``channel_id``, or None."""
        return next((c for c in self.channels if c.id == channel_id), None)


class Route(_Model):
    """One routing rule; an empty condition matches everything."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,63}$")
    problem_classes: list[ProblemClass] = Field(default_factory=list)
    communes: list[str] = Field(default_factory=list)
    device_kinds: list[DeviceKind] = Field(default_factory=list)
    # Central systems (systems.yaml ids): only tickets of one of these systems match.
    systems: list[str] = Field(default_factory=list)
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
    source: str = "routing.yaml"

    def route(
        self,
        problem_class: str,
        commune_code: str | None,
        device_kind: str | None,
        system: str | None = None,
    ) -> Decision:
        """The owner of a ticket of this class, commune, device kind and central system."""
        for route in self.routes:
            if route.problem_classes and problem_class not in route.problem_classes:
                continue
            if route.communes and (commune_code is None or commune_code not in route.communes):
                continue
            if route.device_kinds and (
                device_kind is None or device_kind not in route.device_kinds
            ):
                continue
            if route.systems and (system is None or system not in route.systems):
                continue
            return Decision(route.owner, self.owners[route.owner], route.name, False)
        return Decision(self.default_owner, self.owners[self.default_owner], None, True)

    def digest_targets(self) -> frozenset[tuple[str, str]]:
        """(channel type, address as written) of every owner that wants grouped digests."""
        return frozenset(
            (channel.type, channel.to)
            for owner in self.owners.values()
            if owner.digest_minutes is not None
            for channel in owner.channels
        )

    def channel(self, owner_id: str, channel_id: str) -> Channel | None:
        """The channel an outbox row refers to, or None if the routing no longer has it."""
        owner = self.owners.get(owner_id)
        return owner.channel(channel_id) if owner is not None else None

    def destination(
        self, owner_id: str, channel_id: str, environ: Mapping[str, str]
    ) -> Destination:
        """Resolve a channel reference for sending; errors name owner, channel and variable."""
        channel = self.channel(owner_id, channel_id)
        where = f"{self.source} owner '{owner_id}' channel '{channel_id}'"
        if channel is None:
            raise ChannelError(
                f"{where}: no such channel (routing changed since the message was queued)"
            )
        where += f" ({channel.type})"
        secrets = []
        for name in channel.variables():
            value = environ.get(name)
            if not value:
                raise ChannelError(f"{where}: environment variable {name} is not set")
            secrets.append(value)
        names = channel.variables()
        address = _VARIABLE.sub(lambda m: environ[m.group(1)], channel.to) if names else channel.to
        problem = _usable(channel.type, address) if names else None
        if problem is not None:
            # Name the variables, never the value they gave.
            given = ", ".join(f"${{{name}}}" for name in names)
            raise ChannelError(f"{where}: the address built from {given} is {problem}")
        return Destination(channel, address, tuple(secrets))

    def check_environment(self, environ: Mapping[str, str]) -> list[str]:
        """Every channel that cannot be resolved with ``environ``: one message each."""
        problems = []
        for owner_id, owner in self.owners.items():
            for channel in owner.channels:
                try:
                    self.destination(owner_id, channel.id, environ)
                except ChannelError as exc:
                    problems.append(str(exc))
        return problems

    def check_systems(self, known: Collection[str], systems_source: str) -> None:
        """Every ``systems:`` of a route names a declared system (a typo would never match)."""
        for number, route in enumerate(self.routes):
            for index, system in enumerate(route.systems):
                if system not in known:
                    raise RulesError(
                        f"{self.source} route {number} ({route.name}), field 'systems.{index}': "
                        f"{system!r} is not a system of {systems_source}; known: "
                        f"{', '.join(sorted(known)) or '(none)'}"
                    )

    def owner_for_token(self, token: str) -> str | None:
        """The vendor whose technicians hold ``token``, or None."""
        holder = self.token_holder(token)
        return holder[0] if holder is not None else None

    def token_holder(self, token: str) -> tuple[str, str | None] | None:
        """(owner id, console user it belongs to) of a vendor token, or None."""
        digest = hashlib.sha256(token.encode()).hexdigest()
        for owner_id, owner in self.owners.items():
            if owner.token_sha256 is not None and hmac.compare_digest(owner.token_sha256, digest):
                return owner_id, owner.token_user
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
        ids: set[str] = set()
        for number, channel in enumerate(owner.channels):
            if channel.id in ids:
                raise RulesError(
                    f"{source} owner '{owner_id}', field 'channels.{number}.id': {channel.id!r} "
                    "is used by an earlier channel of this owner; give each channel its own 'id'"
                )
            ids.add(channel.id)
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
    return Routing(owners=owners, routes=tuple(routes), default_owner=str(default), source=source)


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
