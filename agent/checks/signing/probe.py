"""Asking one signing bridge whether it is ready: port by port, each within its own time limit.

A port ends in one of three ways: it answered right (the bridge is ready), it answered wrong (a
bridge listens but says it is not ready, or something else listens: the answer is kept as the
bridge's own words), or it did not answer (refused, timeout, TLS, not WebSocket). Ports are tried
in order and the first right answer ends the round, as the web libraries do.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass

from agent.checks.signing import vnpt
from agent.checks.signing.config import SigningPlugin
from agent.checks.websocket import WebSocketClient, WebSocketError

ANSWER_MAX_CHARS = 200


@dataclass(frozen=True, slots=True)
class PortAnswer:
    """What one port of a bridge did."""

    port: int
    answered: bool  # the bridge's protocol answered (right or wrong)
    ok: bool = False  # ... and it said it is ready
    latency_seconds: float | None = None  # from connecting to the answer
    answer: str | None = None  # the bridge's own words when not ready
    error: str | None = None  # when not answered: connect_refused, timeout, tls, protocol ...
    version: str | None = None


@dataclass(frozen=True, slots=True)
class PluginOutcome:
    """A bridge's state after trying its ports: the decisive port's answer, and every port's."""

    plugin: SigningPlugin
    ports: tuple[PortAnswer, ...]

    @property
    def decisive(self) -> PortAnswer | None:
        """The port that answered right, else the first that answered wrong, else None."""
        return next((p for p in self.ports if p.ok), None) or next(
            (p for p in self.ports if p.answered), None
        )


async def _vnpt_exchange(
    client: WebSocketClient, plugin: SigningPlugin, port: int, start: float
) -> PortAnswer:
    await client.send_text(vnpt.request(vnpt.CHECK_PLUGIN, plugin.domain))
    answer = await client.receive_text()
    latency = time.perf_counter() - start
    result = vnpt.result_of(answer)
    if result != vnpt.READY:
        return PortAnswer(port, True, False, latency, answer=answer[:ANSWER_MAX_CHARS])
    return PortAnswer(port, True, True, latency)


async def _vnpt_version(
    client: WebSocketClient, plugin: SigningPlugin, wait_seconds: float
) -> str | None:
    try:
        async with asyncio.timeout(wait_seconds):
            await client.send_text(vnpt.request(vnpt.GET_VERSION, plugin.domain))
            version = vnpt.result_of(await client.receive_text())
    except (TimeoutError, OSError, WebSocketError):
        return None
    # A version is short and printable; anything else is not one (e.g. "-1" from an old plugin).
    if not version or len(version) > 40 or not version.isprintable() or version.startswith("-"):
        return None
    return version


async def probe_port(plugin: SigningPlugin, port: int, version_timeout: float) -> PortAnswer:
    """Open the bridge's WebSocket on ``port`` and, for the VNPT-CA Plugin, ask checkPlugin."""
    start = time.perf_counter()
    client: WebSocketClient | None = None
    try:
        async with asyncio.timeout(plugin.timeout_seconds):
            client, handshake = await WebSocketClient.open(
                plugin.host, port, tls=plugin.tls, path=plugin.path, origin=plugin.origin
            )
            if handshake.status != 101:
                # An HTTP server that refuses the upgrade: a bridge that is not ready, or another
                # program on the bridge's port; either way its words are the evidence.
                return PortAnswer(
                    port, True, False, handshake.answered_seconds, answer=handshake.status_line
                )
            if plugin.protocol == "vgca":
                return PortAnswer(port, True, True, handshake.answered_seconds)
            outcome = await _vnpt_exchange(client, plugin, port, start)
        if outcome.ok:
            version = await _vnpt_version(client, plugin, version_timeout)
            return PortAnswer(port, True, True, outcome.latency_seconds, version=version)
        return outcome
    except TimeoutError:
        return PortAnswer(port, False, error="timeout")
    except ConnectionRefusedError:
        return PortAnswer(port, False, error="connect_refused")
    except ssl.SSLError:
        return PortAnswer(port, False, error="tls")
    except WebSocketError as exc:
        return PortAnswer(port, False, error=exc.reason)
    except OSError:
        return PortAnswer(port, False, error="connect_failed")
    finally:
        if client is not None:
            await client.close()


async def probe_plugin(plugin: SigningPlugin, version_timeout: float) -> PluginOutcome:
    """Try the bridge's ports in order until one answers right."""
    answers: list[PortAnswer] = []
    for port in plugin.ports:
        answer = await probe_port(plugin, port, version_timeout)
        answers.append(answer)
        if answer.ok:
            break
    return PluginOutcome(plugin, tuple(answers))
