"""One simulated agent at run time, shared by the live driver and the back-fill."""

from __future__ import annotations

from dataclasses import dataclass

from agent.sender import Sender
from agent.spool import Spool
from sim.fleet import SimAgent


@dataclass
class SimRuntime:
    """One simulated agent at run time: identity, spool and sender."""

    agent: SimAgent
    agent_id: str
    token: str
    next_seq: int = 1  # before the spool exists: the first sequence the spool will use
    spool: Spool | None = None
    sender: Sender | None = None
    max_depth: int = 0
    lane: int = 0  # which of the driver's HTTP clients it uses
