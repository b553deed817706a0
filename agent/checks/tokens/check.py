"""The ``tokens`` check: USB tokens present, and the expiry of the signing certificates on them.

The PKCS#11 work runs in a short-lived reader process (``agent.checks.tokens.reader``), bounded by
``timeout_seconds`` and killed past it; this module only starts it, reads its JSON answer and
turns it into one ``pc`` device report. Days to expiry are counted from the injected clock.
Without python-pkcs11 (or cryptography) the check reports itself unavailable, once, and goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agent.checks.base import CheckConfig
from agent.checks.common import hidden_window_flags, pc_device_id
from agent.checks.tokens.reader import ModuleResult, ReaderAnswer, ReaderRequest
from agent.clock import Clock, SystemClock
from agent.wire import DeviceId, DeviceKind, DeviceReport, Event, Sample, Severity

log = logging.getLogger(__name__)

READER_COMMAND = (sys.executable, "-m", "agent.checks.tokens.reader")
# Label values are bounded: a holder's name, an issuer's name, a serial number in hex.
HOLDER_MAX_CHARS = 64
SERIAL_MAX_CHARS = 40
FACT_MAX_CHARS = 500
_MODULE_SUFFIX = re.compile(r"\.(dll|so(\.\d+)*|dylib)$", re.IGNORECASE)


class TokenModule(BaseModel):
    """A PKCS#11 module the data file does not know: which CA's, and its full path."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ca: str = Field(min_length=1, max_length=64, description="Label value, e.g. 'MISA-CA'")
    path: str = Field(min_length=3, max_length=400, description="Full path of the .dll/.so")

    @field_validator("path")
    @classmethod
    def _module_file(cls, value: str) -> str:
        absolute = value.startswith(("/", "\\\\")) or re.match(r"^[A-Za-z]:\\", value) is not None
        if not absolute or not _MODULE_SUFFIX.search(value) or not value.isprintable():
            raise ValueError(f"{value!r} is not the full path of a .dll, .so or .dylib file")
        return value


class TokensConfig(CheckConfig):
    """Settings of the ``tokens`` check; the defaults look for every CA module in the data file."""

    device_id: DeviceId | None = Field(default=None, description="The PC's device id")
    known_modules: bool = Field(
        default=True, description="Look for the CAs' modules of middleware.yaml"
    )
    modules: tuple[TokenModule, ...] = Field(
        default=(), max_length=16, description="More modules (other CAs, other places)"
    )
    max_certificates: int = Field(default=16, ge=1, le=64, description="Per module")
    timeout_seconds: float = Field(
        default=30.0, gt=0, le=300, description="The reader process is killed past this"
    )


def module_label(path: str) -> str:
    """The ``module`` label: the file name of a module path (either separator)."""
    return re.split(r"[\\/]", path)[-1][:100]


def _days_left(not_after: str, now: datetime) -> float | None:
    try:
        when = datetime.fromisoformat(not_after)
    except ValueError:
        return None
    if when.tzinfo is None:
        return None
    return (when - now).total_seconds() / 86_400


def module_samples(result: ModuleResult) -> list[Sample]:
    """``token_module_up`` and ``token_present`` of one module."""
    labels = {"module": module_label(result.path), "ca": result.ca[:64]}
    up = result.loaded and result.error is None
    return [
        Sample(name="token_module_up", value=float(up), labels=labels),
        Sample(name="token_present", value=float(bool(result.tokens)), labels=labels),
    ]


def certificate_samples(answer: ReaderAnswer, now: datetime) -> list[Sample]:
    """``signing_cert_expiry_days`` per distinct certificate, and ``signing_cert_count``."""
    seen: dict[tuple[str, str, str], float] = {}
    for result in answer.modules:
        for cert in result.certificates:
            days = _days_left(cert.not_after, now)
            key = (
                cert.holder[:HOLDER_MAX_CHARS],
                cert.issuer[:HOLDER_MAX_CHARS],
                cert.serial[:SERIAL_MAX_CHARS],
            )
            if days is not None:  # one certificate seen through two modules counts once
                seen[key] = days
    samples = [
        Sample(
            name="signing_cert_expiry_days",
            value=days,
            labels={"holder": holder, "issuer": issuer, "serial": serial},
        )
        for (holder, issuer, serial), days in seen.items()
    ]
    samples.append(Sample(name="signing_cert_count", value=float(len(seen))))
    return samples


def answer_facts(answer: ReaderAnswer) -> dict[str, str]:
    """Modules found, tokens present and certificates, in words a technician reads."""
    modules = [f"{m.ca}:{module_label(m.path)}" for m in answer.modules]
    tokens = [
        f"{t.label or '?'} ({t.serial or '?'}, {t.manufacturer} {t.model})".replace(" )", ")")
        for m in answer.modules
        for t in m.tokens
    ]
    certs = [
        f"{c.holder} / {c.issuer} / until {c.not_after[:10]}"
        for m in answer.modules
        for c in m.certificates
    ]
    facts = {"token_modules": ",".join(modules) or "none"}
    facts["tokens"] = "; ".join(dict.fromkeys(tokens)) or "none"
    facts["signing_certificates"] = "; ".join(dict.fromkeys(certs)) or "none"
    return {key: value[:FACT_MAX_CHARS] for key, value in facts.items()}


class ReaderFailed(Exception):
    """The reader process timed out, died or printed something that is not its answer."""

    def __init__(self, error_class: str, detail: str) -> None:
        super().__init__(f"{error_class}: {detail}")
        self.error_class = error_class  # timeout, crash, output
        self.detail = detail


async def run_reader(
    request: ReaderRequest, command: Sequence[str], limit_seconds: float
) -> ReaderAnswer:
    """Start the reader, give it the request, wait at most ``limit_seconds``; kill it past that."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            creationflags=hidden_window_flags(),
        )
    except OSError as exc:
        raise ReaderFailed("crash", f"cannot start the reader: {exc}") from None
    try:
        async with asyncio.timeout(limit_seconds):
            out, err = await proc.communicate(request.model_dump_json().encode("ascii"))
    except TimeoutError:
        raise ReaderFailed("timeout", f"no answer within {limit_seconds:g} s") from None
    finally:
        if proc.returncode is None:  # timed out, or the check itself was cancelled
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(proc.wait())
    if proc.returncode != 0:
        tail = err.decode("utf-8", errors="replace").strip().splitlines()[-1:] or [""]
        raise ReaderFailed("crash", f"exit status {proc.returncode}: {tail[0][:200]}")
    try:
        return ReaderAnswer.model_validate_json(out)
    except ValidationError:
        raise ReaderFailed("output", f"not an answer: {out[:100]!r}") from None


class TokensCheck:
    """The ``tokens`` check: PKCS#11 modules, tokens and certificate expiry, on the PC's report."""

    name: ClassVar[str] = "tokens"
    config_model: ClassVar[type[CheckConfig]] = TokensConfig

    def __init__(
        self,
        config: TokensConfig | None = None,
        *,
        clock: Clock | None = None,
        reader_command: Sequence[str] = READER_COMMAND,
    ) -> None:
        """``reader_command``: how to start the reader (tests start it without python-pkcs11)."""
        self.config = config or TokensConfig()
        self._clock: Clock = clock or SystemClock()
        self._command = tuple(reader_command)
        self._device_id = pc_device_id(self.config.device_id)
        self._told: set[str] = set()  # unavailability reasons already reported

    def _request(self) -> ReaderRequest:
        from agent.checks.tokens.middleware import Candidate

        cfg = self.config
        return ReaderRequest(
            modules=tuple(Candidate(ca=m.ca, path=m.path) for m in cfg.modules),
            known_modules=cfg.known_modules,
            max_certificates=cfg.max_certificates,
        )

    def _report(
        self, samples: list[Sample], events: list[Event], facts: dict[str, str] | None = None
    ) -> list[DeviceReport]:
        return [
            DeviceReport(
                device_id=self._device_id,
                kind=DeviceKind.PC,
                samples=samples,
                events=events,
                facts=facts or {},
            )
        ]

    async def collect(self) -> list[DeviceReport]:
        """Run the reader once and report what it saw; never raises for the reader's failure."""
        try:
            answer = await run_reader(self._request(), self._command, self.config.timeout_seconds)
        except ReaderFailed as exc:
            log.warning("token reader failed", extra={"error": str(exc)})
            event = Event(
                type="token_check_failed",
                severity=Severity.WARNING,
                message=f"the token reader failed: {exc}"[:2000],
                attrs={"error_class": exc.error_class, "detail": exc.detail[:200]},
            )
            return self._report([], [event])
        available = Sample(name="token_reader_available", value=float(answer.available))
        if not answer.available:
            reason = answer.reason or "unavailable"
            events: list[Event] = []
            if reason not in self._told:
                self._told.add(reason)
                events.append(
                    Event(
                        type="token_check_unavailable",
                        severity=Severity.INFO,
                        message=f"USB tokens are not checked on this PC: {reason}",
                        attrs={"reason": reason[:200]},
                    )
                )
            return self._report([available], events)
        samples = [available, Sample(name="token_modules_found", value=len(answer.modules))]
        events = []
        for result in answer.modules:
            samples += module_samples(result)
            if result.error is not None:
                events.append(
                    Event(
                        type="token_module_error",
                        severity=Severity.WARNING,
                        message=f"{result.ca} module {result.path}: {result.error}"[:2000],
                        attrs={
                            "module": module_label(result.path),
                            "ca": result.ca[:64],
                            "error": result.error[:200],
                        },
                    )
                )
        samples += certificate_samples(answer, self._clock.now())
        return self._report(samples, events, answer_facts(answer))
