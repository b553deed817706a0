"""The SNMP client seam: a small Protocol, and its pysnmp 7 (asyncio) implementation.

This is the only module that imports pysnmp. It translates pysnmp's ``errorIndication`` and
``errorStatus`` into :mod:`agent.checks.snmp.errors` and pysnmp/pyasn1 values into
:mod:`agent.checks.snmp.values`, once per varbind.

Requests go straight to pysnmp's command generators (``pysnmp.entity.rfc3413.cmdgen``) with
numeric varbinds: the ``hlapi`` helpers (``get_cmd``/``bulk_cmd``) resolve every request OID
against the MIB tree, which costs more CPU than decoding the answer. The engine, transports and
credentials are configured with the same hlapi LCD configurator ``bulk_cmd`` uses.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

# pyasn1 ships no type stubs (types-pyasn1 is not a dependency).
from pyasn1.type import univ  # type: ignore[import-untyped,unused-ignore]
from pysnmp.entity.engine import SnmpEngine
from pysnmp.entity.rfc3413 import cmdgen
from pysnmp.error import PySnmpError
from pysnmp.hlapi.v3arch.asyncio import (
    USM_AUTH_HMAC96_SHA,
    USM_AUTH_HMAC128_SHA224,
    USM_AUTH_HMAC192_SHA256,
    USM_AUTH_HMAC256_SHA384,
    USM_AUTH_HMAC384_SHA512,
    USM_PRIV_CFB128_AES,
    USM_PRIV_CFB192_AES,
    USM_PRIV_CFB256_AES,
    CommunityData,
    Udp6TransportTarget,
    UdpTransportTarget,
    UsmUserData,
)
from pysnmp.hlapi.v3arch.asyncio.lcd import CommandGeneratorLcdConfigurator
from pysnmp.proto import errind, rfc1905
from pysnmp.proto.rfc1902 import ObjectName

from agent.checks.snmp.config import SnmpTargetConfig
from agent.checks.snmp.errors import (
    SnmpAuthError,
    SnmpErrorStatus,
    SnmpProtocolError,
    SnmpTimeout,
    SnmpTransportError,
)
from agent.checks.snmp.values import Missing, ObjectIdValue, Oid, Value, VarBind, format_oid

log = logging.getLogger(__name__)

# RFC 3416 §3 error-status names, by number.
ERROR_STATUS = (
    "noError", "tooBig", "noSuchName", "badValue", "readOnly", "genErr", "noAccess",
    "wrongType", "wrongLength", "wrongEncoding", "wrongValue", "noCreation",
    "inconsistentValue", "resourceUnavailable", "commitFailed", "undoFailed",
    "authorizationError", "notWritable", "inconsistentName",
)  # fmt: skip

_AUTH = {
    "SHA": USM_AUTH_HMAC96_SHA,
    "SHA224": USM_AUTH_HMAC128_SHA224,
    "SHA256": USM_AUTH_HMAC192_SHA256,
    "SHA384": USM_AUTH_HMAC256_SHA384,
    "SHA512": USM_AUTH_HMAC384_SHA512,
}
_PRIV = {"AES": USM_PRIV_CFB128_AES, "AES192": USM_PRIV_CFB192_AES, "AES256": USM_PRIV_CFB256_AES}

# USM/VACM refusals (RFC 3414 §3.2, RFC 3415): our credentials or context are wrong.
_AUTH_ERRORS = (
    errind.UnknownUserName,
    errind.WrongDigest,
    errind.DecryptionError,
    errind.AuthenticationError,
    errind.AuthenticationFailure,
    errind.UnknownSecurityName,
    errind.UnsupportedSecurityLevel,
    errind.NotInTimeWindow,
    errind.NoSuchContext,
    errind.UnknownCommunityName,
)


class SnmpClient(Protocol):
    """What the poller needs from SNMP: GET, GETNEXT and GETBULK with plain values.

    Every method raises only :class:`agent.checks.snmp.errors.SnmpError` subclasses. Results are
    varbinds in wire order; exception values (noSuchObject, endOfMibView, ...) come back as
    :class:`agent.checks.snmp.values.Missing`.
    """

    async def get(self, target: SnmpTargetConfig, oids: Sequence[Oid]) -> list[VarBind]:
        """GET ``oids`` (RFC 3416 §4.2.1)."""
        ...

    async def get_next(self, target: SnmpTargetConfig, oids: Sequence[Oid]) -> list[VarBind]:
        """GETNEXT ``oids`` (RFC 3416 §4.2.2)."""
        ...

    async def get_bulk(
        self, target: SnmpTargetConfig, oids: Sequence[Oid], max_repetitions: int
    ) -> list[VarBind]:
        """GETBULK with non-repeaters 0 (RFC 3416 §4.2.3): rows × ``oids``, row-major."""
        ...

    async def aclose(self) -> None:
        """Release sockets; the client is not used afterwards."""
        ...


ClientFactory = Callable[[], SnmpClient]


class PysnmpClient:
    """:class:`SnmpClient` on pysnmp engines shared by the targets of one poll.

    v1/v2c targets share one engine. pysnmp keeps one USM entry per user name and engine, so two
    SNMPv3 targets with the same user name but different keys would overwrite each other's keys
    in a shared engine: each distinct set of v3 credentials gets its own engine.
    """

    def __init__(self) -> None:
        self._engines: dict[tuple[str, ...] | None, SnmpEngine] = {}
        self._lcd = CommandGeneratorLcdConfigurator()
        self._prepared: dict[tuple[object, ...], tuple[str, bytes]] = {}
        self._get = cmdgen.GetCommandGenerator()
        self._next = cmdgen.NextCommandGeneratorSingleRun()
        self._bulk = cmdgen.BulkCommandGeneratorSingleRun()
        # Converters by pyasn1 class, filled on first sight: one dict lookup per value after.
        self._convert: dict[type, Callable[[Any], Value]] = {}

    async def get(self, target: SnmpTargetConfig, oids: Sequence[Oid]) -> list[VarBind]:
        """GET ``oids``."""
        return await self._request(target, oids, lambda engine, addr, ctx, vbs, cb: (
            self._get.send_varbinds(engine, addr, None, ctx, vbs, cb)
        ))  # fmt: skip

    async def get_next(self, target: SnmpTargetConfig, oids: Sequence[Oid]) -> list[VarBind]:
        """GETNEXT ``oids``."""
        return await self._request(target, oids, lambda engine, addr, ctx, vbs, cb: (
            self._next.send_varbinds(engine, addr, None, ctx, vbs, cb)
        ))  # fmt: skip

    async def get_bulk(
        self, target: SnmpTargetConfig, oids: Sequence[Oid], max_repetitions: int
    ) -> list[VarBind]:
        """GETBULK ``oids`` with ``max_repetitions``."""
        return await self._request(target, oids, lambda engine, addr, ctx, vbs, cb: (
            self._bulk.send_varbinds(engine, addr, None, ctx, 0, max_repetitions, vbs, cb)
        ))  # fmt: skip

    async def aclose(self) -> None:
        """Close every engine's dispatcher (its sockets and timer)."""
        for engine in self._engines.values():
            engine.close_dispatcher()
        self._engines.clear()
        self._prepared.clear()

    async def _prepare(self, target: SnmpTargetConfig) -> tuple[SnmpEngine, str, bytes]:
        v3 = target.v3
        credentials = None if v3 is None else (
            v3.user, v3.auth_protocol, v3.auth_key.get_secret_value(), v3.priv_protocol,
            v3.priv_key.get_secret_value(),
        )  # fmt: skip
        engine = self._engines.get(credentials)
        if engine is None:
            engine = self._engines[credentials] = SnmpEngine()
        key = _target_key(target)
        prepared = self._prepared.get(key)
        if prepared is None:
            where = f"{target.address}:{target.port}"
            transport_class = Udp6TransportTarget if ":" in target.address else UdpTransportTarget
            try:
                transport = await transport_class.create(
                    (target.address, target.port), timeout=target.timeout, retries=target.retries
                )
            except (PySnmpError, OSError) as exc:
                raise SnmpTransportError(where, str(exc) or type(exc).__name__) from None
            context = b""
            auth: CommunityData | UsmUserData
            if v3 is not None:
                context = v3.context.encode()
                auth = UsmUserData(
                    v3.user,
                    authKey=v3.auth_key.get_secret_value(),
                    privKey=v3.priv_key.get_secret_value(),
                    authProtocol=_AUTH[v3.auth_protocol],
                    privProtocol=_PRIV[v3.priv_protocol],
                )
            else:
                auth = CommunityData(
                    target.community.get_secret_value(), mpModel=0 if target.version == "1" else 1
                )
            addr_name, _params = self._lcd.configure(engine, auth, transport, context)
            prepared = self._prepared[key] = (addr_name, context)
        return engine, prepared[0], prepared[1]

    async def _request(
        self,
        target: SnmpTargetConfig,
        oids: Sequence[Oid],
        send: Callable[..., object],
    ) -> list[VarBind]:
        engine, addr_name, context = await self._prepare(target)
        where = f"{target.address}:{target.port}"
        future: asyncio.Future[tuple[Any, Any, Any, Any]] = (
            asyncio.get_running_loop().create_future()
        )

        def done(
            _engine: object, _handle: object, indication: Any, status: Any, index: Any,
            varbinds: Any, _ctx: object,
        ) -> None:  # fmt: skip
            if not future.done():
                future.set_result((indication, status, index, varbinds))

        null = univ.Null("")
        try:
            send(engine, addr_name, context, [(ObjectName(oid), null) for oid in oids], done)
        except PySnmpError as exc:
            raise SnmpTransportError(where, str(exc)) from None
        # pysnmp enforces timeout × (retries + 1) itself; this outer bound only guards against a
        # callback that never comes.
        deadline = target.timeout * (target.retries + 1) + 5.0
        try:
            indication, status, index, varbinds = await asyncio.wait_for(future, deadline)
        except TimeoutError:
            raise SnmpTimeout(where, target.timeout, target.retries) from None
        if indication:
            raise _translate(indication, target, where)
        status = int(status or 0)
        if status:
            position = int(index or 0)
            oid = format_oid(oids[position - 1]) if 0 < position <= len(oids) else None
            name = ERROR_STATUS[status] if status < len(ERROR_STATUS) else str(status)
            raise SnmpErrorStatus(where, name, position, oid)
        return [(name.asTuple(), self._value(value)) for name, value in varbinds]

    def _value(self, value: Any) -> Value:
        convert = self._convert.get(type(value))
        if convert is None:
            convert = self._convert[type(value)] = _converter_for(value)
        return convert(value)


def _target_key(target: SnmpTargetConfig) -> tuple[object, ...]:
    v3 = target.v3
    return (
        target.address, target.port, target.version, target.community.get_secret_value(),
        target.timeout, target.retries,
        None if v3 is None else (
            v3.user, v3.auth_protocol, v3.auth_key.get_secret_value(), v3.priv_protocol,
            v3.priv_key.get_secret_value(), v3.context,
        ),
    )  # fmt: skip


def _converter_for(value: Any) -> Callable[[Any], Value]:
    # The RFC 1905 exception values derive from Null; test them first.
    if isinstance(value, rfc1905.EndOfMibView):
        return lambda _v: Missing.END_OF_MIB_VIEW
    if isinstance(value, rfc1905.NoSuchInstance):
        return lambda _v: Missing.NO_SUCH_INSTANCE
    if isinstance(value, rfc1905.NoSuchObject):
        return lambda _v: Missing.NO_SUCH_OBJECT
    if isinstance(value, univ.Integer):
        return int
    if isinstance(value, univ.OctetString):
        return lambda v: v.asOctets()
    if isinstance(value, univ.ObjectIdentifier):
        return lambda v: ObjectIdValue(v.asTuple())
    # NULL or an unknown type where a value belongs: report it as having no value.
    return lambda _v: Missing.NO_SUCH_OBJECT


def _translate(indication: Any, target: SnmpTargetConfig, where: str) -> Exception:
    if isinstance(indication, errind.RequestTimedOut):
        return SnmpTimeout(where, target.timeout, target.retries)
    if isinstance(indication, _AUTH_ERRORS):
        return SnmpAuthError(where, str(indication))
    return SnmpProtocolError(where, f"SNMP engine error: {indication}")
