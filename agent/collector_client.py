"""The agent's HTTP requests to its collector: the batch POSTs and the central config poll.

Two implementations of one small interface, ``CollectorClient``:

- ``UrllibCollectorClient``, what the service uses: the standard library's ``urllib.request`` in a
  daemon thread (``agent.threads``: a stopping agent never waits for a hung collector), one
  connection per request, the proxy of the environment (``HTTPS_PROXY``,
  ``NO_PROXY``; on Windows the system proxy settings), no redirects followed. httpx, httpcore and
  anyio would add 3 to 5 MiB resident to a process that sends one small POST every 15 s
  (docs/agent.md, "Footprint"). Their keep-alive bought nothing in steady state, since idle
  connections had to expire after 4 s (before uvicorn's 5 s) and sends are 15 s apart; a replay
  after an outage now opens one connection per batch of up to 200 reports.
- ``HttpxCollectorClient`` wraps an ``httpx.AsyncClient``: tests and the simulator hand the
  sender and runner their in-process transports that way (``as_collector_client``).

Both raise ``CollectorUnreachable`` when no complete answer came back; any HTTP status is an answer.
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from agent.errors import AgentError
from agent.threads import in_daemon_thread

if TYPE_CHECKING:
    import ssl

    import httpx

# The collector's answers are an ack or a config of a few KiB; anything far larger is not ours.
MAX_RESPONSE_BYTES = 16 * 1024 * 1024


class CollectorUnreachable(AgentError):
    """No complete answer (refused, timed out, TLS failed, cut short, too large): retry later."""


@dataclass(frozen=True)
class CollectorResponse:
    """A complete answer of the collector, whatever its status."""

    status_code: int
    content: bytes
    # Header names in lower case.
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The body as text (UTF-8; undecodable bytes replaced)."""
        return self.content.decode("utf-8", errors="replace")

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (any case), if present."""
        return self.headers.get(name.lower())


class CollectorClient(ABC):
    """Requests to one collector, relative to its base URL."""

    base_url: str

    @abstractmethod
    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str],
        content: bytes | None = None,
    ) -> CollectorResponse:
        """Send one request; raises CollectorUnreachable when no complete answer came back."""

    @abstractmethod
    async def aclose(self) -> None:
        """Release what the client holds."""

    async def get(self, path: str, *, headers: Mapping[str, str]) -> CollectorResponse:
        """GET ``path``."""
        return await self.request("GET", path, headers=headers)

    async def post(
        self, path: str, *, content: bytes, headers: Mapping[str, str]
    ) -> CollectorResponse:
        """POST ``content`` to ``path``."""
        return await self.request("POST", path, headers=headers, content=content)

    async def __aenter__(self) -> CollectorClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def _describe(exc: BaseException) -> str:
    # urllib wraps socket and TLS errors in URLError; the wrapped one names what happened.
    reason = getattr(exc, "reason", None)
    if isinstance(exc, urllib.error.URLError) and isinstance(reason, BaseException):
        exc = reason
    return f"{exc.__class__.__name__}: {exc}"


class UrllibCollectorClient(CollectorClient):
    """The service's client: ``urllib.request`` in a worker thread, TLS through ``ssl_context``."""

    def __init__(
        self,
        base_url: str,
        *,
        ssl_context: ssl.SSLContext,
        timeout: float = 30.0,
        headers: Mapping[str, str] | None = None,
        proxies: Mapping[str, str] | None = None,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        """``timeout`` bounds the connection and every read; ``proxies`` (scheme → URL) replaces
        the environment's, ``{}`` for none."""
        parts = urlsplit(base_url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"{base_url!r} is not an http:// or https:// URL with a host name")
        self.base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._headers = dict(headers or {})
        self._max = max_response_bytes
        # No HTTPRedirectHandler (a collector that redirects a POST is misconfigured; following it
        # would resend the batch somewhere else) and no HTTPErrorProcessor (every status is an
        # answer the caller judges, not an exception).
        self._opener = urllib.request.OpenerDirector()
        for handler in (
            urllib.request.ProxyHandler(None if proxies is None else dict(proxies)),
            urllib.request.HTTPHandler(),
            urllib.request.HTTPSHandler(context=ssl_context),
        ):
            self._opener.add_handler(handler)

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str],
        content: bytes | None = None,
    ) -> CollectorResponse:
        """Send one request from a daemon thread (a hung collector cannot hold up the exit)."""
        return await in_daemon_thread(self._request, method, path, headers, content)

    def _request(
        self, method: str, path: str, headers: Mapping[str, str], content: bytes | None
    ) -> CollectorResponse:
        # The base URL is http(s) (checked above) and the opener has only HTTP(S) handlers.
        request = urllib.request.Request(  # noqa: S310
            self.base_url + path, data=content, headers={**self._headers, **headers}, method=method
        )
        too_large = CollectorUnreachable(
            f"answer larger than {self._max} bytes from {self.base_url}{path}"
        )
        try:
            with self._opener.open(request, timeout=self._timeout) as answer:
                status = int(answer.status)
                answer_headers = {name.lower(): value for name, value in answer.headers.items()}
                # A bounded read() returns a short body without complaint; with a Content-Length
                # the unbounded one raises IncompleteRead for an answer cut short.
                declared = answer.length
                if declared is not None and declared > self._max:
                    raise too_large
                body = answer.read() if declared is not None else answer.read(self._max + 1)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            # OSError covers URLError, refusals, resets, timeouts and TLS failures; HTTPException
            # an answer cut short or garbled (IncompleteRead, RemoteDisconnected, BadStatusLine).
            raise CollectorUnreachable(_describe(exc)) from exc
        if len(body) > self._max:
            raise too_large
        return CollectorResponse(status, body, answer_headers)

    async def aclose(self) -> None:
        """Nothing is held between requests."""
        self._opener.close()


class HttpxCollectorClient(CollectorClient):
    """An ``httpx.AsyncClient`` behind the same interface (tests, the simulator)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client
        self.base_url = str(client.base_url).rstrip("/")

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str],
        content: bytes | None = None,
    ) -> CollectorResponse:
        """Send one request through the wrapped client."""
        import httpx  # loaded already: whoever built the client imported it

        try:
            response = await self._client.request(method, path, headers=headers, content=content)
        except httpx.RequestError as exc:
            # Transport failures, but also a body cut short mid-answer (DecodingError).
            raise CollectorUnreachable(f"{exc.__class__.__name__}: {exc}") from exc
        answer_headers = {name.lower(): value for name, value in response.headers.items()}
        return CollectorResponse(response.status_code, response.content, answer_headers)

    async def aclose(self) -> None:
        """Close the wrapped client."""
        await self._client.aclose()


def as_collector_client(client: CollectorClient | httpx.AsyncClient) -> CollectorClient:
    """``client`` itself, or an httpx client wrapped (closing stays with whoever opened it)."""
    if isinstance(client, CollectorClient):
        return client
    return HttpxCollectorClient(client)
