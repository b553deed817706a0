"""The pysnmp boundary: values become plain Python, engine errors become our exceptions."""

from __future__ import annotations

import pytest
from pysnmp.proto import errind, rfc1902, rfc1905

from agent.checks.snmp.client import PysnmpClient, _translate
from agent.checks.snmp.config import SnmpTargetConfig
from agent.checks.snmp.errors import (
    SnmpAuthError,
    SnmpProtocolError,
    SnmpTimeout,
    SnmpTransportError,
)
from agent.checks.snmp.values import Missing, ObjectIdValue

TARGET = SnmpTargetConfig(address="127.0.0.1", port=1161, timeout=1.5, retries=2)


@pytest.mark.parametrize(
    ("value", "plain"),
    [
        (rfc1902.Integer32(-3), -3),
        (rfc1902.Counter32(4_294_967_295), 4_294_967_295),
        (rfc1902.Counter64(2**64 - 1), 2**64 - 1),
        (rfc1902.Gauge32(7), 7),
        (rfc1902.TimeTicks(123), 123),
        (rfc1902.OctetString(b"\x80\x00"), b"\x80\x00"),
        (rfc1902.IpAddress("192.168.1.1"), b"\xc0\xa8\x01\x01"),
        (rfc1902.ObjectIdentifier("1.3.6.1.4.1.9"), ObjectIdValue((1, 3, 6, 1, 4, 1, 9))),
        (rfc1905.endOfMibView, Missing.END_OF_MIB_VIEW),
        (rfc1905.noSuchInstance, Missing.NO_SUCH_INSTANCE),
        (rfc1905.noSuchObject, Missing.NO_SUCH_OBJECT),
    ],
)
def test_pysnmp_values_become_plain_values(value: object, plain: object) -> None:
    converted = PysnmpClient()._value(value)
    assert converted == plain
    assert type(converted) is type(plain)


@pytest.mark.parametrize(
    ("indication", "error", "reason"),
    [
        (errind.requestTimedOut, SnmpTimeout, "timeout"),
        (errind.wrongDigest, SnmpAuthError, "auth"),
        (errind.unknownUserName, SnmpAuthError, "auth"),
        (errind.decryptionError, SnmpAuthError, "auth"),
        (errind.parseError, SnmpProtocolError, "protocol"),
    ],
)
def test_engine_errors_become_typed_errors(
    indication: object, error: type[Exception], reason: str
) -> None:
    translated = _translate(indication, TARGET, "127.0.0.1:1161")
    assert isinstance(translated, error)
    assert translated.reason == reason  # type: ignore[attr-defined]
    assert "127.0.0.1:1161" in str(translated)


async def test_an_unresolvable_host_is_a_transport_error() -> None:
    client = PysnmpClient()
    target = SnmpTargetConfig(address="no-such-host.invalid", timeout=0.2, retries=0)
    try:
        with pytest.raises(SnmpTransportError, match=r"no-such-host\.invalid"):
            await client.get(target, [(1, 3, 6, 1, 2, 1, 1, 1, 0)])
    finally:
        await client.aclose()
