"""Validation of the snmp check's configuration: errors name the field and what is allowed."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from agent.agent_config import CheckSpec
from agent.checks.snmp.config import SnmpCheckConfig, SnmpTargetConfig

V3 = {"user": "monitor", "auth_key": "auth-secret-1", "priv_key": "priv-secret-1"}


@pytest.mark.parametrize(
    ("address", "normalised"),
    [
        ("192.168.1.20", "192.168.1.20"),
        (" 10.0.0.1 ", "10.0.0.1"),
        ("Printer-1.XA.local", "printer-1.xa.local"),
        ("::1", "::1"),
    ],
)
def test_addresses_are_hosts_or_ips(address: str, normalised: str) -> None:
    assert SnmpTargetConfig(address=address).address == normalised


@pytest.mark.parametrize("address", ["", "-bad.example", "a b", "300.1.1.1", "host_name", "1.2.3"])
def test_bad_addresses_are_refused_with_the_value_named(address: str) -> None:
    with pytest.raises(ValidationError, match="neither an IP address nor a host name"):
        SnmpTargetConfig(address=address)


def test_defaults_and_device_id() -> None:
    target = SnmpTargetConfig(address="192.168.1.20")
    assert (target.port, target.version, target.kind, target.timeout, target.retries) == (
        161, "2c", "auto", 2.0, 1,
    )  # fmt: skip
    assert target.effective_device_id == "192.168.1.20"
    assert SnmpTargetConfig(address="10.0.0.1", port=1161).effective_device_id == "10.0.0.1:1161"
    assert SnmpTargetConfig(address="10.0.0.1", device_id="mfp-1").effective_device_id == "mfp-1"


def test_v3_needs_a_user_and_v2c_refuses_one() -> None:
    with pytest.raises(ValidationError, match="version '3' needs a 'v3' user"):
        SnmpTargetConfig(address="10.0.0.1", version="3")
    with pytest.raises(ValidationError, match="only used with version '3'"):
        SnmpTargetConfig(address="10.0.0.1", v3=V3)
    target = SnmpTargetConfig(address="10.0.0.1", version="3", v3=V3)
    assert target.v3 is not None
    assert (target.v3.auth_protocol, target.v3.priv_protocol) == ("SHA", "AES")


@pytest.mark.parametrize(
    ("v3", "problem"),
    [
        ({**V3, "auth_key": "short"}, "at least 8"),
        ({**V3, "auth_protocol": "MD5"}, "'SHA'"),
        ({**V3, "priv_protocol": "DES"}, "'AES'"),
    ],
)
def test_weak_v3_settings_are_refused(v3: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        SnmpTargetConfig(address="10.0.0.1", version="3", v3=v3)


def test_secrets_do_not_show_in_reprs() -> None:
    target = SnmpTargetConfig(address="10.0.0.1", community="s3cret-community")
    assert "s3cret-community" not in repr(target)


def test_two_targets_with_the_same_device_id_are_refused() -> None:
    with pytest.raises(ValidationError, match=r"targets 0 and 1 both have device_id '10\.0\.0\.1'"):
        SnmpCheckConfig(
            targets=[{"address": "10.0.0.1"}, {"address": "10.0.0.1", "community": "x"}]
        )


def test_discovery_ranges_are_bounded() -> None:
    config = SnmpCheckConfig(discovery={"network": "192.168.1.0/24"})
    assert config.discovery is not None
    assert config.discovery.network.num_addresses == 256
    with pytest.raises(ValidationError, match="at most 1024"):
        SnmpCheckConfig(discovery={"network": "10.0.0.0/16"})
    with pytest.raises(ValidationError, match="not an IPv4 network"):
        SnmpCheckConfig(discovery={"network": "192.168.1.300/24"})


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="comunity"):
        SnmpCheckConfig(targets=[{"address": "10.0.0.1", "comunity": "public"}])


def test_the_central_config_validates_snmp_options_by_field() -> None:
    spec = CheckSpec(check="snmp", options={"targets": [{"address": "192.168.1.20"}]})
    assert spec.interval == 60.0
    with pytest.raises(ValidationError, match=r"options\.targets\.0\.port"):
        CheckSpec(check="snmp", options={"targets": [{"address": "192.168.1.20", "port": 0}]})
