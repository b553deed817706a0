"""Configuration of the SNMP check: targets, credentials, discovery and limits (frozen models)."""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from agent.checks.base import CheckConfig
from agent.wire import DeviceId

KindHint = Literal["auto", "printer", "mfp", "router", "switch", "firewall"]
SnmpVersion = Literal["1", "2c", "3"]
AuthProtocol = Literal["SHA", "SHA224", "SHA256", "SHA384", "SHA512"]
PrivProtocol = Literal["AES", "AES192", "AES256"]

# RFC 1123 host name: labels of letters, digits and hyphens, not starting or ending with '-'.
_HOSTNAME = re.compile(
    r"^(?=.{1,253}\.?$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$"
)
# A /22 is already 1,022 hosts; a commune LAN is a /24.
MAX_DISCOVERY_HOSTS = 1_024


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _host(value: str) -> str:
    value = value.strip()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        pass
    if _HOSTNAME.match(value) and not value.replace(".", "").isdigit():
        return value.rstrip(".").lower()
    raise ValueError(
        f"{value!r} is neither an IP address nor a host name "
        "(letters, digits, '-' and '.', e.g. 'printer-1.xa.local' or '192.168.1.20')"
    )


class SnmpV3User(_Frozen):
    """SNMPv3 USM user with authPriv: authentication (HMAC-SHA family) and AES privacy."""

    user: str = Field(min_length=1, max_length=32, description="USM user name")
    auth_protocol: AuthProtocol = Field(default="SHA", description="HMAC-SHA variant")
    # RFC 3414 §11.2: pass phrases must be at least 8 characters.
    auth_key: SecretStr = Field(min_length=8, max_length=256, description="Auth pass phrase")
    priv_protocol: PrivProtocol = Field(default="AES", description="AES key size (128 = AES)")
    priv_key: SecretStr = Field(min_length=8, max_length=256, description="Privacy pass phrase")
    context: str = Field(default="", max_length=64, description="SNMPv3 context name")


class _Credentials(_Frozen):
    """Fields shared by a target and a discovery range: how to talk to a device."""

    port: int = Field(default=161, ge=1, le=65_535)
    version: SnmpVersion = Field(default="2c", description="'1', '2c' or '3' (authPriv)")
    community: SecretStr = Field(
        default=SecretStr("public"), min_length=1, max_length=64, description="v1/v2c community"
    )
    v3: SnmpV3User | None = Field(default=None, description="SNMPv3 user; required for '3'")
    timeout: float = Field(default=2.0, gt=0, le=60, description="Seconds to wait per try")
    retries: int = Field(default=1, ge=0, le=5, description="Extra tries after a timeout")

    @model_validator(mode="after")
    def _v3_needs_user(self) -> _Credentials:
        if self.version == "3" and self.v3 is None:
            raise ValueError("version '3' needs a 'v3' user (user, auth_key, priv_key)")
        if self.version != "3" and self.v3 is not None:
            raise ValueError(f"'v3' is only used with version '3', not {self.version!r}")
        return self


class SnmpTargetConfig(_Credentials):
    """One device to poll."""

    address: str = Field(description="IP address or host name of the device")
    kind: KindHint = Field(default="auto", description="What the device is; 'auto' = profiles")
    device_id: DeviceId | None = Field(
        default=None, description="Id in reports; default: the address (with ':port' if not 161)"
    )
    max_repetitions: int = Field(default=25, ge=1, le=100, description="GETBULK max-repetitions")
    max_varbinds: int = Field(
        default=60, ge=1, le=200, description="Variable bindings asked for in one request"
    )
    bulk: bool = Field(
        default=True, description="Walk with GETBULK; false = GETNEXT for agents that break on it"
    )

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        return _host(value)

    @property
    def effective_device_id(self) -> str:
        """The device id used in reports."""
        if self.device_id:
            return self.device_id
        return self.address if self.port == 161 else f"{self.address}:{self.port}"

    @property
    def uses_bulk(self) -> bool:
        """GETBULK does not exist in SNMPv1 (RFC 3416 §4.2.3 is v2 only)."""
        return self.bulk and self.version != "1"


class SnmpDiscoveryConfig(_Credentials):
    """A subnet range to scan for SNMP devices (sysObjectID/sysDescr → kind, vendor, model)."""

    network: ipaddress.IPv4Network = Field(description="e.g. '192.168.1.0/24'")
    rescan_seconds: float = Field(default=3_600, ge=60, le=7 * 86_400)
    timeout: float = Field(default=1.0, gt=0, le=10)
    retries: int = Field(default=0, ge=0, le=2)

    @field_validator("network", mode="before")
    @classmethod
    def _network(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return ipaddress.IPv4Network(value, strict=False)
            except ValueError as exc:
                raise ValueError(
                    f"{value!r} is not an IPv4 network such as '192.168.1.0/24'"
                ) from exc
        return value

    @field_validator("network")
    @classmethod
    def _bounded(cls, value: ipaddress.IPv4Network) -> ipaddress.IPv4Network:
        if value.num_addresses > MAX_DISCOVERY_HOSTS + 2:
            raise ValueError(
                f"{value} has {value.num_addresses} addresses; at most {MAX_DISCOVERY_HOSTS} "
                "(a /22) may be scanned"
            )
        return value

    def target(self, address: str) -> SnmpTargetConfig:
        """The target for a discovered ``address`` with these credentials."""
        return SnmpTargetConfig(
            address=address,
            port=self.port,
            version=self.version,
            community=self.community,
            v3=self.v3,
            timeout=self.timeout,
            retries=self.retries,
        )


class SnmpCheckConfig(CheckConfig):
    """Options of the ``snmp`` check."""

    targets: list[SnmpTargetConfig] = Field(default_factory=list, max_length=500)
    discovery: SnmpDiscoveryConfig | None = None
    max_concurrency: int = Field(default=16, ge=1, le=256, description="Targets polled at once")
    max_poll_seconds: float = Field(
        default=30.0, gt=0, le=600, description="Deadline for one target's whole poll"
    )
    low_supply_percent: float = Field(
        default=10.0, ge=0, le=100, description="Supply level at or under which it is 'low'"
    )
    facts_refresh_seconds: float = Field(
        default=6 * 3_600, ge=0, description="How often serial/model are read again"
    )
    max_rows_per_column: int = Field(default=10_000, ge=10, le=1_000_000)

    @model_validator(mode="after")
    def _unique_device_ids(self) -> SnmpCheckConfig:
        seen: dict[str, int] = {}
        for position, target in enumerate(self.targets):
            device_id = target.effective_device_id
            if device_id in seen:
                raise ValueError(
                    f"targets {seen[device_id]} and {position} both have device_id "
                    f"{device_id!r}; give one of them an explicit 'device_id'"
                )
            seen[device_id] = position
        return self
