"""Dialing blocked by a provider fault that is no lead's (dialer.telephony.faults):
set when the provider refuses a create for a reason of the account (every
campaign stops) or of the campaign's set-up (that campaign stops), cleared by a
manager or by a test call that goes through. Rows in `dialing_block`, so every
process that dials reads the same answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.db import RawSql, affected, raw_of
from dialer.errors import Conflict
from dialer.telephony.blocks_sql import ACCOUNT_OR_CAMPAIGN, ALL_BLOCKS
from dialer.telephony.faults import Fault, FaultAction
from dialer.telephony.models import DialingBlock

ACCOUNT = "account"


def campaign_scope(campaign_id: int) -> str:
    return f"campaign:{campaign_id}"


@dataclass(frozen=True, slots=True)
class Block:
    scope: str  # "account" or "campaign"
    campaign_id: int | None
    code: str
    provider_code: int | None
    detail: str
    call_id: int | None
    since_at: datetime


def _block(row: DialingBlock) -> Block:
    return Block(
        scope=ACCOUNT if row.campaign_id is None else "campaign",
        campaign_id=row.campaign_id,
        code=row.code,
        provider_code=row.provider_code,
        detail=row.detail,
        call_id=row.call_id,
        since_at=row.since_at,
    )


def raise_block(
    session: Session,
    *,
    fault: Fault,
    campaign_id: int,
    detail: str,
    call_id: int | None,
    now: datetime,
) -> Block:
    """Block the account or the campaign, as the fault's row says. A block that
    stands already keeps its first cause and time (the first refusal is the one
    a manager needs; the calls behind it only confirm it)."""
    assert fault.action in (FaultAction.block_account, FaultAction.block_campaign)
    account = fault.action == FaultAction.block_account
    scope = ACCOUNT if account else campaign_scope(campaign_id)
    found = session.get(DialingBlock, scope)
    if found is not None:
        return _block(found)
    row = DialingBlock(
        scope=scope,
        campaign_id=None if account else campaign_id,
        code=fault.code,
        provider_code=fault.provider_code,
        detail=detail[:1000],
        call_id=call_id,
        since_at=now,
    )
    try:
        # Two refused creates may race to set the same block: the first stands.
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        found = session.get(DialingBlock, scope)
        assert found is not None
        return _block(found)
    return _block(row)


def block_of(session: Session, *, campaign_id: int) -> Block | None:
    """What stops dialing this campaign: the account's block first (clearing
    the campaign's alone would not resume it), else the campaign's own. One
    read of both scopes; in a unit of work (every dial) in hand-written SQL,
    which sees every block: `raise_block` writes its row in a savepoint that
    flushes, `clear` deletes with a statement."""
    scopes = (ACCOUNT, campaign_scope(campaign_id))
    raw = raw_of(session)
    if raw is not None:
        found = _raw_blocks(raw, ACCOUNT_OR_CAMPAIGN, scopes)
    else:
        found = [
            _block(row)
            for row in session.scalars(
                select(DialingBlock).where(col(DialingBlock.scope).in_(scopes))
            )
        ]
    # The account's block first: it is the one whose clearing resumes dialing.
    return min(found, key=lambda b: b.campaign_id is not None, default=None)


def _raw_blocks(raw: RawSql, statement: str, params: tuple[str, ...] = ()) -> list[Block]:
    return [
        Block(
            scope=ACCOUNT if campaign_id is None else "campaign",
            campaign_id=campaign_id,
            code=code,
            provider_code=provider_code,
            detail=detail,
            call_id=call_id,
            since_at=raw.read_instant(since_at),
        )
        for _scope, campaign_id, code, provider_code, detail, call_id, since_at in raw.rows(
            statement, params
        )
    ]


def all_blocks(session: Session) -> list[Block]:
    """Every block; in a unit of work (every pacer round) in hand-written SQL."""
    raw = raw_of(session)
    if raw is not None:
        return _raw_blocks(raw, ALL_BLOCKS)
    rows = session.scalars(select(DialingBlock).order_by(col(DialingBlock.scope)))
    return [_block(r) for r in rows]


def blocked_campaigns(session: Session) -> tuple[bool, frozenset[int]]:
    """Whether the account is blocked, and the campaigns blocked on their own."""
    blocks = all_blocks(session)
    account = any(b.campaign_id is None for b in blocks)
    return account, frozenset(b.campaign_id for b in blocks if b.campaign_id is not None)


def check_not_blocked(session: Session, *, campaign_id: int, zone: tzinfo) -> None:
    """A dial of a blocked campaign is refused with the block's code (its
    `since` in the campaign's zone, `zone`)."""
    found = block_of(session, campaign_id=campaign_id)
    if found is None:
        return
    whose = "the account" if found.campaign_id is None else f"campaign {campaign_id}"
    raise Conflict(
        f"dialing is blocked for {whose}: {found.detail}",
        code=found.code,
        dialing_blocked=block_payload(found, zone=zone),
    )


def block_payload(found: Block, *, zone: tzinfo = UTC) -> dict[str, object]:
    """The block as the API shows it (`dialing_blocked`, agent events)."""
    return {
        "scope": found.scope,
        "code": found.code,
        "provider_code": found.provider_code,
        "detail": found.detail,
        "since": found.since_at.astimezone(zone).isoformat(),
    }


def clear(session: Session, *, campaign_id: int | None) -> Block | None:
    """Lift the campaign's block (None: the account's); returns what was lifted."""
    scope = ACCOUNT if campaign_id is None else campaign_scope(campaign_id)
    found = session.get(DialingBlock, scope)
    if found is None:
        return None
    lifted = _block(found)
    gone = session.execute(
        delete(DialingBlock)
        .where(col(DialingBlock.scope) == scope)
        .execution_options(synchronize_session=False)
    )
    session.expunge(found)
    return lifted if affected(gone) else None
