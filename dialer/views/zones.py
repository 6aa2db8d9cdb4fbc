"""The zone a view renders a campaign's resource in: the campaign's.

Every view of a campaign's resource ends with one line,
`return localized(out, zone_for(row))` (`dialer.wire.localized`): the instants
stay the same, their offset becomes the campaign's (`+09:00` for Asia/Tokyo).
Resources with no campaign (agents, the clock, the do-not-call list) are left
in UTC."""

from __future__ import annotations

from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.orm import object_session

from dialer.campaign.service import campaign_zone


class _OfCampaign(Protocol):
    @property
    def campaign_id(self) -> int: ...


def zone_for(row: _OfCampaign) -> ZoneInfo:
    """The zone of the campaign a row (a lead, call, promise, import, conversion)
    belongs to, read through the row's own session: a page of rows of one
    campaign reads the campaign once (the session's identity map)."""
    session = object_session(row)
    if session is None:
        raise RuntimeError(f"{type(row).__name__} is detached: render it inside its session")
    return campaign_zone(session, campaign_id=row.campaign_id)
