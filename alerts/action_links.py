"""Using a signed link from a ticket's message (issue 22): the change it names, once.

The link's id, the ticket's change and its audit line are one transaction; the id's primary key
makes a link used twice at the same moment act once. A link acts only for the owner it was sent
to (or the owner that ticket escalates to): a ticket handed to another owner since refuses the
old owner's links. Tokens themselves are ``alerts.link_tokens``'.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import IntegrityError

from alerts import tickets
from alerts.desk import Desk
from alerts.link_tokens import ActionLinks, LinkClaim, LinkRefused
from alerts.schema import tickets as ticket_rows
from alerts.schema import used_links

log = logging.getLogger(__name__)


def use_link(
    links: ActionLinks, engine: Engine, desk: Desk, token: str, note: str, now: datetime
) -> LinkClaim:
    """Do what the link says, once. Raises LinkRefused, or the ticket's own errors
    (TicketTransition: already acknowledged or resolved), changing nothing."""
    claim = links.check(engine, token, now)
    actor = f"link:{claim.recipient}"[:100]
    how = f"link {claim.link_id} sent to {claim.recipient}"
    try:
        with engine.begin() as conn:
            owner = conn.execute(
                select(ticket_rows.c.owner).where(ticket_rows.c.id == claim.ticket_id)
            ).scalar_one_or_none()
            if owner is not None and not _may_act(desk, owner, claim.owner):
                raise LinkRefused("moved", claim)
            conn.execute(
                used_links.insert().values(
                    link_id=claim.link_id,
                    ticket_id=claim.ticket_id,
                    action=claim.action,
                    recipient=claim.recipient[:110],
                    used_at=now,
                )
            )
            if claim.action == "ack":
                tickets.acknowledge_on(conn, desk, claim.ticket_id, actor, now, how=how)
            else:
                tickets.resolve_on(conn, desk, claim.ticket_id, actor, note, now, how=how)
            # Older ids can be forgotten: their links expired long ago.
            conn.execute(delete(used_links).where(used_links.c.used_at < now - 2 * links.lifetime))
    except IntegrityError:
        # The same link used at the same moment from another request: that one acted.
        raise LinkRefused("used", claim) from None
    log.info(
        "ticket changed from a message link",
        extra={"ticket": claim.ticket_id, "action": claim.action, "recipient": claim.recipient},
    )
    return claim


def _may_act(desk: Desk, ticket_owner: str, recipient_owner: str) -> bool:
    """The message went to the ticket's owner, or to the owner it escalates to."""
    if ticket_owner == recipient_owner:
        return True
    owner = desk.routing.owners.get(ticket_owner)
    return owner is not None and owner.escalate_to == recipient_owner
