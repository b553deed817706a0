"""What the running agent remembers outside the spool: last ack and errors, the config in force.

``state.json`` is mostly informational (``commune-agent status`` reads it), so it is replaced
atomically but without fsync; the exception is the clean-stop marker (``stopped_at``), written
durably at start and at the goodbye, from which the next start says how this run ended.
``central-config.json`` keeps the last central configuration applied, so an agent restarted while
the collector is unreachable keeps measuring what it was told to.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.agent_config import AgentConfig
from agent.files import write_atomic

log = logging.getLogger(__name__)


class AgentState(BaseModel):
    """The runner's last outcomes, as ``status`` shows them."""

    model_config = ConfigDict(extra="ignore")

    pid: int | None = None
    started_at: datetime | None = None
    last_ack_at: datetime | None = None
    last_acked_seq: int | None = None
    last_send_error: str | None = None
    last_send_error_at: datetime | None = None
    send_failures: int = Field(default=0, description="Consecutive failed sends")
    config_source: str = Field(default="default", description="default, cache or central")
    config_etag: str | None = None
    config_applied_at: datetime | None = None
    last_config_error: str | None = None
    last_config_error_at: datetime | None = None
    check_errors: dict[str, str] = Field(
        default_factory=dict, description="Last error per configured check, while it fails"
    )
    # The clean-stop marker (issue 19): cleared at every start, set once the goodbye is spooled.
    # A start that finds it unset after an earlier start knows the last run ended uncleanly.
    stopped_at: datetime | None = Field(
        default=None, description="When the last run said goodbye; None while running"
    )
    stop_reason: str | None = Field(
        default=None, description="Why it stopped: shutdown, reboot, service_stop, interrupted"
    )
    previous_stop: str | None = Field(
        default=None, description="How the run before this one ended: clean, unclean, first_start"
    )


def load_state(path: Path) -> AgentState:
    """The stored state, or a fresh one when missing or unreadable (it is only informational)."""
    try:
        return AgentState.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        return AgentState()
    except (OSError, ValidationError) as exc:
        log.warning("state file unreadable; starting afresh", extra={"error": str(exc)[:200]})
        return AgentState()


def save_state(path: Path, state: AgentState, *, durable: bool = False) -> None:
    """Replace the state file; without fsync unless ``durable``.

    Losing the last routine update to a power cut is harmless; the start and the clean-stop
    marker are written durably, since the next start tells the collector how this run ended.
    """
    write_atomic(path, state.model_dump_json(indent=2).encode(), durable=durable)


class CachedConfig(BaseModel):
    """The last central configuration applied, with its ETag."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    etag: str | None
    config: AgentConfig


def load_cached_config(path: Path) -> CachedConfig | None:
    """The cached central configuration, or None when missing or no longer valid."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("cached central config unreadable", extra={"error": str(exc)})
        return None
    try:
        return CachedConfig.model_validate_json(raw)
    except ValidationError as exc:
        # E.g. a check removed in this agent version: run the default until the collector answers.
        log.warning("cached central config is not valid", extra={"error": str(exc)[:300]})
        return None


def save_cached_config(path: Path, cached: CachedConfig) -> None:
    """Store the configuration just applied (durably: it is what a restart will run)."""
    write_atomic(path, cached.model_dump_json(indent=2).encode())
