"""The agent as a service: start, scheduled jobs and the sender loop until stopped, then goodbye.

``AgentService`` runs ``AgentRunner``'s steps on apscheduler jobs and a sender loop. Its start
spools ``agent_started`` (OS boot time, uptime, how the previous run ended); a clean stop spools
``agent_stopping`` with the reason last, after the checks still running, and gives the last send
``stop_send_seconds`` (issue 19, "Agents say goodbye": a PC switched off at 17:05 is not a fault).
What the collector has not acknowledged by then stays spooled and goes at the next start; the
collector orders reports by measured time, so a goodbye that arrives the next morning still
closes the evening.

Tests drive ``record_start`` and ``shutdown`` directly, or ``run`` with a stop event, with an
injected stop probe (every reason without touching the OS) and boot time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from agent.identity import Identity, agent_version
from agent.lifecycle import (
    BootTimeSource,
    Goodbye,
    StopProbe,
    StopTrigger,
    SystemStopProbe,
    Uptime,
    mark_started,
    mark_stopped,
    os_boot_time,
    probe_stop_reason,
    settle,
    stop_trigger,
)
from agent.runner import AgentRunner
from agent.self_report import started_event, stopping_event
from agent.settings import AgentSettings
from agent.wire import Report

log = logging.getLogger(__name__)

# With nothing new to send, still try this often: reports left after a failed send go out.
IDLE_SEND_SECONDS = 60.0
# Checks still running when a stop is asked get this share of ``stop_send_seconds``; the rest is
# the last send's.
IN_FLIGHT_SHARE = 0.5


class AgentService(AgentRunner):
    """The agent's service loop around the runner's steps, with its start and clean stop."""

    def __init__(
        self,
        settings: AgentSettings,
        identity: Identity,
        *,
        stop_probe: StopProbe | None = None,
        boot_time: BootTimeSource | None = None,
        **runner: Any,
    ) -> None:
        """``stop_probe`` tells why the service stops (default: ask the OS); ``boot_time`` gives
        the OS boot time (default: psutil's); the rest is ``AgentRunner``'s."""
        super().__init__(settings, identity, **runner)
        self._stop_probe: StopProbe = stop_probe or SystemStopProbe()
        self._boot_time: BootTimeSource = boot_time or os_boot_time

    async def _sleep(self, seconds: float, stop: asyncio.Event) -> None:
        # The service's own pacing; returns early when asked to stop.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)

    async def _sender_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), IDLE_SEND_SECONDS)
            if stop.is_set():
                return
            # Let reports of the same moment (several jobs firing together) share one batch.
            await self._sleep(self.settings.send_delay_seconds, stop)
            self._wake.clear()
            outcome = await self.send_pending()
            while outcome.error is not None and not stop.is_set():
                await self._sleep(outcome.retry_in, stop)
                outcome = await self.send_pending()

    async def run(self, stop: asyncio.Event) -> None:
        """Run the service until ``stop`` is set, then stop cleanly (``shutdown``).

        ``stop`` may be a ``StopRequest``, whose trigger (SIGTERM, Ctrl+C, ``--max-seconds``)
        helps tell the reason of the stop; a plain event counts as a termination.
        """
        self.record_start()
        log.info(
            "agent started",
            extra={
                "agent_id": self.identity.agent_id,
                "server": self._client.base_url,
                "checks": ",".join(self.check_names),
                "previous_stop": self.state.previous_stop,
            },
        )
        self.start_scheduler()
        sender = asyncio.get_running_loop().create_task(self._sender_loop(stop), name="sender")
        try:
            await stop.wait()
        finally:
            await self.shutdown(stop_trigger(stop), sender=sender)

    def record_start(self) -> Report:
        """Spool ``agent_started`` and mark this run as running in the state file.

        The event says how the previous run ended (clean: it said goodbye; unclean: the marker
        is missing; first_start: no earlier run), the OS boot time and the uptime now.
        """
        now = self._clock.now()
        previous = mark_started(self.state, now)
        self._save_state(durable=True)
        event = started_event(
            agent_version(),
            self.state.config_source,
            self.state.config_etag,
            previous_stop=previous,
            uptime=Uptime.at(now, self._boot_time()),
        )
        return self._append_events(now, [event])

    async def shutdown(
        self, trigger: StopTrigger, *, sender: asyncio.Task[None] | None = None
    ) -> Goodbye:
        """Stop cleanly: spool the goodbye last, then send the spool within the stop budget.

        The reason and the uptime are measured when the stop is asked. Checks still running get
        part of ``stop_send_seconds`` to spool their reports and are then cancelled, so the
        goodbye is the last report; the last send gets the rest of it. What the collector has
        not acknowledged by then stays spooled and goes at the next start.
        """
        loop = asyncio.get_running_loop()
        budget = self.settings.stop_send_seconds
        deadline = loop.time() + budget
        stopped_at = self._clock.now()
        uptime = Uptime.at(stopped_at, self._boot_time())
        reason_task = loop.create_task(probe_stop_reason(self._stop_probe, trigger))
        self._stopping = True
        if self._schedule is not None:
            self._schedule.pause()  # no new runs; shutting down would cancel running ones
        if sender is not None:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
        # A check measuring right now spools its report before the goodbye; one still running
        # then is cancelled (its run is simply lost, nothing half-written).
        await settle(self._in_flight, loop.time() + budget * IN_FLIGHT_SHARE)
        self.stop_scheduler()
        reason = await reason_task
        report = self._append_events(stopped_at, [stopping_event(reason, uptime)])
        mark_stopped(self.state, stopped_at, reason)
        self._save_state(durable=True)
        remaining = deadline - loop.time()
        if remaining > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.send_pending(), remaining)
        self._save_state()
        stats = self.spool.stats()
        goodbye = Goodbye(
            report=report,
            reason=reason,
            sent=stats.oldest_seq is None or stats.oldest_seq > report.seq,
        )
        log.info(
            "agent stopped",
            extra={
                "reason": reason.value,
                "goodbye_sent": goodbye.sent,
                "spool_depth": stats.depth,
            },
        )
        return goodbye
