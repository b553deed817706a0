"""A counter PC's signing chain in its reports: the ``signing`` and ``tokens`` checks' samples,
events and facts, made by the agent's own functions (issue 23).

- ``signing`` (every 60 s in the agent; here with every report): each bridge of the agent's
  default configuration (VNPT-CA Plugin, VGCA Sign Service) is ready where the PC has it, not
  answering where it has not (the agent asks both everywhere: a ``signing_plugin_down`` event for
  the one never installed), or answering "-1" when a browser update broke it (``plugin_broken``).
  Samples and events come from ``outcome_samples``/``outcome_event`` on the port answers the
  check's probe returns; only the latency is the simulator's.
- ``tokens`` (every 600 s in the agent): a round at the agent's start and at each ten-minute mark
  of the clock, so that the ground truth knows when a round sees a certificate or a token
  (:data:`TOKEN_ROUND`). The round is the check's own: ``module_samples``,
  ``certificate_samples`` and ``answer_facts`` on the reader's answer for the PC's middleware,
  token and certificate. ``tests/sim/test_signing.py`` holds it equal to ``TokensCheck.collect``.

Clerks who take their token home have it plugged in from the moment they arrive (the PC's
switch-on of the day, :mod:`sim.presence`) until they leave; a PC left on overnight reports it
absent at night, which is no fault: the detector counts opening time only. A certificate is
renewed weeks before it expires, except when ``cert_expiring`` holds: then the holder's current
certificate shows :data:`EXPIRING_LEFT` days left at the fault's start, and is replaced by a new
one when the fault ends.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

from agent.agent_config import DEFAULT_INTERVALS
from agent.checks.signing.check import outcome_event, outcome_samples
from agent.checks.signing.config import DEFAULT_PLUGINS, SigningPlugin
from agent.checks.signing.probe import PluginOutcome, PortAnswer
from agent.checks.tokens.check import answer_facts, certificate_samples, module_samples
from agent.checks.tokens.reader import CertificateInfo, ModuleResult, ReaderAnswer, TokenInfo
from agent.vntime import local_date
from agent.wire import Sample as WireSample
from sim.faults import FaultType
from sim.presence import Presence
from sim.shapes import EventDict, Sample
from sim.state import DeviceState
from sim.workstation import VNPT_CA, VNPT_PLUGIN_VERSION, PcSetup, Token

# How often the agent's tokens check runs; the simulator runs it on these marks of the clock.
TOKEN_ROUND = timedelta(seconds=DEFAULT_INTERVALS["tokens"])
# Days left on the holder's certificate when a ``cert_expiring`` fault begins (the bundled
# rules' signing.cert_days is 30).
EXPIRING_LEFT = timedelta(days=20)
# What the VNPT-CA Plugin answers checkPlugin when a browser update broke it: result -1, in the
# plugin's "<result>*<callback>" framing (agent/checks/signing/vnpt.py).
BROKEN_ANSWER = "-1*callbackDefault"
_LATENCY = "signing_plugin_latency_seconds"
_CERT_DAYS = "signing_cert_expiry_days"
_Parts = tuple[list[Sample], EventDict | None, dict[str, str]]
_Round = tuple[list[Sample], int, dict[str, str]]


def token_round(at: datetime, last: datetime | None) -> bool:
    """Whether the tokens check runs at ``at`` after its last round at ``last`` (None: the agent
    just started): the first report at or after each mark of :data:`TOKEN_ROUND`."""
    if last is None:
        return True
    period = TOKEN_ROUND.total_seconds()
    return math.floor(at.timestamp() / period) != math.floor(last.timestamp() / period)


def next_round(at: datetime) -> datetime:
    """The first mark of :data:`TOKEN_ROUND` at or after ``at``."""
    period = TOKEN_ROUND.total_seconds()
    return datetime.fromtimestamp(math.ceil(at.timestamp() / period) * period, at.tzinfo)


def _answers(plugin: SigningPlugin, state: str) -> tuple[PortAnswer, ...]:
    """The probe's port answers of a bridge that is ``ok``, ``broken`` or ``absent``."""
    first = plugin.ports[0]
    if state == "ok":
        version = VNPT_PLUGIN_VERSION if plugin.protocol == "vnpt_ca" else None
        return (PortAnswer(first, True, True, 0.0, version=version),)
    if state == "broken":
        return (PortAnswer(first, True, False, 0.0, answer=BROKEN_ANSWER),)
    return tuple(PortAnswer(port, False, error="connect_refused") for port in plugin.ports)


def bridge_parts(plugin: SigningPlugin, state: str) -> _Parts:
    """The signing check's samples, event and facts for one bridge in ``state`` (latency 0)."""
    outcome = PluginOutcome(plugin, _answers(plugin, state))
    samples = [s.model_dump(mode="json") for s in outcome_samples(outcome)]
    event = outcome_event(outcome)
    decisive = outcome.decisive
    facts = {}
    if decisive is not None and decisive.version:
        facts[f"{plugin.name}_plugin_version"] = decisive.version
    return samples, (event.model_dump(mode="json") if event else None), facts


def reader_answer(setup: PcSetup, present: bool, cert: tuple[str, datetime]) -> ReaderAnswer:
    """What the token reader answers on this PC: each middleware module, the clerk's token and
    certificate in its CA's module when ``present``."""
    token = setup.token
    modules: list[ModuleResult] = []
    for authority in setup.modules:
        result = ModuleResult(ca=authority.ca, path=authority.module, loaded=True)
        if present and token is not None and token.authority == authority:
            result.tokens.append(
                TokenInfo(
                    label=authority.token_label,
                    serial=token.serial,
                    manufacturer=authority.token_maker,
                )
            )
            serial, expires = cert
            result.certificates.append(
                CertificateInfo(
                    holder=token.holder,
                    issuer=authority.issuer,
                    serial=serial,
                    not_after=expires.isoformat(),
                    token_serial=token.serial,
                )
            )
        modules.append(result)
    return ReaderAnswer(modules=modules)


def tokens_parts(answer: ReaderAnswer, at: datetime) -> tuple[list[Sample], dict[str, str]]:
    """The tokens check's samples and facts for a reader's answer, as ``TokensCheck.collect``
    makes them (no events: every module loaded)."""
    samples = [
        WireSample(name="token_reader_available", value=float(answer.available)),
        WireSample(name="token_modules_found", value=len(answer.modules)),
    ]
    for result in answer.modules:
        samples += module_samples(result)
    samples += certificate_samples(answer, at)
    return [s.model_dump(mode="json") for s in samples], answer_facts(answer)


class SigningChain:
    """The signing and tokens parts of every counter PC's reports in one run."""

    def __init__(self, presence: Presence, seed: int) -> None:
        self.presence = presence
        self.seed = seed
        self._bridges = {
            (plugin.name, state): bridge_parts(plugin, state)
            for plugin in DEFAULT_PLUGINS
            for state in ("ok", "broken", "absent")
        }
        # (device, present, serial, expiry) -> the round's samples (days left filled in per
        # round), the index of the certificate's sample, and the facts.
        self._rounds: dict[tuple[str, bool, str, datetime], _Round] = {}
        self._rngs: dict[str, random.Random] = {}

    def parts(
        self,
        key: str,
        commune: str,
        device_id: str,
        setup: PcSetup,
        state: DeviceState,
        at: datetime,
        own: frozenset[FaultType],
        started: bool,
    ) -> tuple[list[Sample], list[EventDict], dict[str, str]]:
        """The PC's signing samples, events and facts at ``at`` (a tokens round's too when one
        is due; ``started``: the agent has just started)."""
        rng = self._rngs.get(device_id)
        if rng is None:
            rng = random.Random(f"{self.seed}:{device_id}:signing")  # noqa: S311 - synthetic
            self._rngs[device_id] = rng
        samples: list[Sample] = []
        events: list[EventDict] = []
        facts: dict[str, str] = {}
        broken = FaultType.PLUGIN_BROKEN in own
        for plugin in DEFAULT_PLUGINS:
            installed = plugin.name in setup.bridges
            bridge = (
                "absent"
                if not installed
                else ("broken" if broken and plugin.name == VNPT_CA else "ok")
            )
            found, event, found_facts = self._bridges[(plugin.name, bridge)]
            if installed:
                # Connect to answer on the loopback: tens of milliseconds, more on an old PC.
                base = 0.02 if setup.cores_logical >= 8 else 0.04
                latency = round(base * rng.lognormvariate(0.0, 0.3), 4)
                found = [{**s, "value": latency} if s["name"] == _LATENCY else s for s in found]
            samples += found
            if event is not None:
                events.append(event)
            facts.update(found_facts)
        cert = self._certificate(setup.token, state, at, own)
        if started or token_round(at, state.tokens_at):
            state.tokens_at = at
            present = self._present(key, commune, setup.token, at, own)
            round_samples, round_facts = self._round(device_id, setup, present, cert, at)
            samples += round_samples
            facts.update(round_facts)
        return samples, events, facts

    def _present(
        self, key: str, commune: str, token: Token | None, at: datetime, own: frozenset[FaultType]
    ) -> bool:
        """Whether the clerk's token is plugged in at ``at``."""
        if token is None or FaultType.TOKEN_MISSING in own:
            return False
        if not token.takes_home:
            return True
        plan = self.presence.plan(key, commune, local_date(at))
        return plan is not None and plan.on_at <= at < plan.off_at

    @staticmethod
    def _certificate(
        token: Token | None, state: DeviceState, at: datetime, own: frozenset[FaultType]
    ) -> tuple[str, datetime]:
        """The holder's certificate now: the usual renewals, unless a fault changed it."""
        if token is None:
            return "", at
        expiring = FaultType.CERT_EXPIRING in own
        if expiring and not state.cert_expiring:
            serial = state.cert[0] if state.cert else token.certificate(token.generation(at))[0]
            state.cert, state.cert_expiring = (serial, at + EXPIRING_LEFT), True
        elif state.cert_expiring and not expiring:
            # Renewed at last: a new certificate for the holder's usual lifetime.
            state.renewals += 1
            serial = token.cert_serial(token.generation(at) + state.renewals)
            state.cert, state.cert_expiring = (serial, at + token.life), False
        return state.cert or token.certificate(token.generation(at))

    def _round(
        self,
        device_id: str,
        setup: PcSetup,
        present: bool,
        cert: tuple[str, datetime],
        at: datetime,
    ) -> tuple[list[Sample], dict[str, str]]:
        """One tokens round: built once per token state and certificate, days left per round."""
        key = (device_id, present, *cert)
        cached = self._rounds.get(key)
        if cached is None:
            samples, facts = tokens_parts(reader_answer(setup, present, cert), at)
            index = next((i for i, s in enumerate(samples) if s["name"] == _CERT_DAYS), -1)
            cached = self._rounds[key] = (samples, index, facts)
        samples, index, facts = cached
        if index < 0:
            return samples, facts
        out = list(samples)
        # As the check counts it (agent/checks/tokens/check.py _days_left).
        out[index] = {**samples[index], "value": (cert[1] - at).total_seconds() / 86_400}
        return out, facts
