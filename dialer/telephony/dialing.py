"""Placing a committed attempt with the provider, and settling what it never
finished reporting. Runs outside any transaction while the provider is asked
(SQLite's one write lock must not wait on a network), then records the answer in
a short transaction of its own.

Provider-neutral: the provider comes in as a `CallCreator` (dialer.telephony.base)
and speaks our words (its adapter translates), so the adapter can hand its
`dial`/`reconcile` here without this module knowing the adapter."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import NoReturn

from sqlalchemy import and_, select, true, update
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.agents.events import publish
from dialer.calls.disposition import apply_status_update, not_placed
from dialer.calls.models import FINAL_CALL_STATUSES, Call, CallStatus
from dialer.calls.status import reported_answered_by
from dialer.campaign.models import Campaign, CampaignStatus
from dialer.campaign.service import calling_hours_of, get_campaign
from dialer.db import Database, affected
from dialer.errors import Conflict, Invalid
from dialer.failing import FailingRows
from dialer.leads import history
from dialer.leads.models import Lead
from dialer.leads.phonebook import listed
from dialer.leads.phones import PhoneError, normalize_phone
from dialer.telephony import blocks
from dialer.telephony.base import (
    SENDING,
    CallCreator,
    CreateNotPlaced,
    CreateUnknown,
    NowIn,
    ProviderCall,
)
from dialer.telephony.faults import BLOCKS, Fault, FaultAction

log = logging.getLogger("dialer.dialing")

# A call with no final status this long after its ring timeout is looked up.
RECONCILE_MARGIN = timedelta(seconds=60)
# Longer than any pacing backlog plus create retries.
SENDING_GRACE = timedelta(minutes=10)


def adopt(session: Session, *, call: Call, sid: str, now_in: NowIn, how: str) -> bool:
    """Bind a provider CallSid to the attempt, once: a status callback and the
    create's answer may race to do it, and a sid belongs to one attempt only."""
    if call.provider_sid is not None:
        return call.provider_sid == sid
    taken = session.scalar(select(col(Call.id)).where(col(Call.provider_sid) == sid))
    if taken is not None:
        return False
    bound = session.execute(
        update(Call)
        .where(col(Call.id) == call.id, col(Call.provider_sid).is_(None))
        .values(provider_sid=sid, provider_error=None)
        .execution_options(synchronize_session=False)
    )
    if affected(bound) != 1:
        return False
    call.provider_sid = sid
    call.provider_error = None
    assert call.id is not None
    history.record(
        session,
        lead_id=call.lead_id,
        kind="call_sent",
        actor=f"provider:{call.provider}",
        at=now_in(session),
        call_id=call.id,
        provider_sid=sid,
        how=how,
    )
    return True


def _fail(session: Session, *, call: Call, reason: str, now_in: NowIn) -> None:
    """No call exists at the provider: the attempt ends `failed` and the retry
    policy takes it from there, as for any failed call."""
    call.provider_error = reason[:500]
    apply_status_update(
        session, call=call, status=CallStatus.failed, answered_by=None, at=now_in(session)
    )


def _refused(session: Session, *, call: Call, exc: CreateNotPlaced, now_in: NowIn) -> None:
    """What the provider's refusal does, by its row of the error table
    (dialer.telephony.faults): a fault of the account or the campaign blocks
    dialing and costs the lead nothing; an invalid number retires that phone;
    anything else fails the attempt. A create held back at the last moment
    because dialing was blocked meanwhile (by another call's refusal) costs the
    lead nothing either."""
    now = now_in(session)
    fault = exc.fault
    if fault is None:
        standing = blocks.block_of(session, campaign_id=call.campaign_id)
        if standing is None:
            _fail(session, call=call, reason=str(exc), now_in=now_in)
            return
        fault = Fault(
            provider_code=standing.provider_code,
            code=standing.code,
            meaning=standing.detail,
            action=FaultAction.requeue,
        )
    if fault.action == FaultAction.fail_attempt:
        _fail(session, call=call, reason=str(exc), now_in=now_in)
        return
    if fault.action in BLOCKS:
        block = blocks.raise_block(
            session,
            fault=fault,
            campaign_id=call.campaign_id,
            detail=f"{fault.meaning}. {exc}",
            call_id=call.id,
            now=now,
        )
        if block.call_id == call.id:
            log.error(
                "dialing blocked for %s: %s",
                "the account" if block.campaign_id is None else f"campaign {block.campaign_id}",
                block.detail,
            )
            # Every agent of the campaign sees why the dialer stopped.
            publish(
                session,
                kind="dialing_blocked",
                at=now,
                agent_id=None,
                campaign_id=call.campaign_id,
                **blocks.block_payload(block),
            )
    not_placed(session, call=call, fault=fault, reason=str(exc), at=now)


def _apply_found(session: Session, *, call: Call, found: ProviderCall, now_in: NowIn) -> None:
    """What the provider's record says, applied as its lost callbacks would have
    been: a call that was answered (talking, or `completed`, which only an
    answered call ends as) is first recorded answered, so it has its answer
    instant and who answered by the callbacks' rule; what is already known of
    who answered (an AMD verdict) is kept unless the record says otherwise."""
    if found.status is None:
        return
    campaign = session.get(Campaign, call.campaign_id)
    detecting = bool(campaign and campaign.machine_detection)
    at = now_in(session)
    steps = [found.status]
    if found.status == CallStatus.completed and call.answered_at is None:
        steps = [CallStatus.in_progress, CallStatus.completed]
    for status in steps:
        apply_status_update(
            session,
            call=call,
            status=status,
            answered_by=reported_answered_by(found.answered_by, status=status, detecting=detecting),
            at=at,
            duration=found.duration if status in FINAL_CALL_STATUSES else None,
        )


def dial(db: Database, telephony: CallCreator, *, call_id: int, now_in: NowIn) -> None:
    with db.read() as session:
        call = session.get(Call, call_id)
        if call is None or call.provider_sid is not None or call.status in FINAL_CALL_STATUSES:
            return
        campaign = session.get(Campaign, call.campaign_id)
        assert campaign is not None
        params = telephony.create_params(call=call, campaign=campaign)
    if not campaign.caller_id:
        with db.write() as session:
            locked = session.get(Call, call_id)
            assert locked is not None
            _fail(session, call=locked, reason="the campaign has no caller_id", now_in=now_in)
        return
    try:
        sid = telephony.send_create(
            db,
            params=params,
            campaign=campaign,
            still_wanted=lambda: _reason_not_to_send(db, call_id=call_id, now_in=now_in),
        )
    except CreateNotPlaced as exc:
        log.warning("call %s not placed: %s", call_id, exc)
        with db.write() as session:
            locked = session.get(Call, call_id)
            assert locked is not None
            if locked.provider_sid is None:
                _refused(session, call=locked, exc=exc, now_in=now_in)
        return
    except CreateUnknown as exc:
        log.warning(
            "call %s: create outcome unknown (%s); looking it up, not re-sending", call_id, exc
        )
        _settle_unknown(db, telephony, call_id=call_id, reason=str(exc), now_in=now_in)
        return
    with db.write() as session:
        locked = session.get(Call, call_id)
        assert locked is not None
        adopt(session, call=locked, sid=sid, now_in=now_in, how="created")


def _reason_not_to_send(db: Database, *, call_id: int, now_in: NowIn) -> str | None:
    """The dial-time rules, once more at the very moment of sending."""
    with db.read() as session:
        call = session.get(Call, call_id)
        if call is None or call.disposition is not None or call.status in FINAL_CALL_STATUSES:
            return "the attempt was closed meanwhile"
        campaign = session.get(Campaign, call.campaign_id)
        lead = session.get(Lead, call.lead_id)
        assert campaign is not None and lead is not None
        if campaign.status != CampaignStatus.active:
            return "the campaign was paused"
        assert campaign.id is not None
        block = blocks.block_of(session, campaign_id=campaign.id)
        if block is not None:
            return f"dialing is blocked: {block.code}"
        if listed(session, phones=[call.to]):
            return f"{call.to} is on the do-not-call list"
        if not calling_hours_of(campaign, timezone=lead.timezone).is_open(at=now_in(session)):
            return "calling hours have closed"
    return None


def _settle_unknown(
    db: Database, telephony: CallCreator, *, call_id: int, reason: str, now_in: NowIn
) -> None:
    with db.read() as session:
        call = session.get(Call, call_id)
        assert call is not None
        if call.provider_sid is not None:
            return  # a status callback already told us
        taken = _adopted_sids(session, to=call.to)
    try:
        found = telephony.look_up(call=call, taken=taken)
    except Exception as exc:  # the provider is unwell: the reconciliation tick retries
        log.warning("call %s: look-up failed: %s", call_id, exc)
        found = None
    with db.write() as session:
        locked = session.get(Call, call_id)
        assert locked is not None
        if found is not None and adopt(
            session, call=locked, sid=found.sid, now_in=now_in, how="looked up"
        ):
            _apply_found(session, call=locked, found=found, now_in=now_in)
        elif locked.provider_sid is None:
            locked.provider_error = f"unknown: {reason}"[:500]


def _adopted_sids(session: Session, *, to: str) -> list[str]:
    return [
        sid
        for sid in session.scalars(
            select(col(Call.provider_sid)).where(
                col(Call.to) == to, col(Call.provider_sid).is_not(None)
            )
        )
        if sid
    ]


def reconcile(db: Database, telephony: CallCreator, *, now_in: NowIn, failing: FailingRows) -> int:
    """Calls still without a final status well after they should have ended (an
    unanswered one past its ring timeout, an answered one past the provider's
    longest call): ask the provider and settle them, as their lost callbacks
    would have. Not found at all: the attempt failed. A call the look-up finds
    still queued at the provider is adopted and left to ring. One
    transaction per call: a call whose settling raises is logged, counted and
    benched in `failing` (retried later), and the others are settled. (A call the
    provider could not be asked about is retried at the next run, as before: the
    network's failures are not the call's.)"""
    with db.read() as session:
        now = now_in(session)
        cutoff = now - timedelta(seconds=telephony.ring_timeout) - RECONCILE_MARGIN
        # An answered call talks as long as it talks, up to the provider's limit.
        talk_cutoff = now - timedelta(seconds=telephony.max_call_seconds) - RECONCILE_MARGIN
        skip = failing.skip(now=now)
        unanswered = and_(
            col(Call.answered_at).is_(None),
            col(Call.created_at) <= cutoff,
            # A create still waiting for its slot is not lost; one marked
            # sending for this long belonged to a process that died.
            (col(Call.provider_error).is_(None))
            | (col(Call.provider_error) != SENDING)
            | (col(Call.created_at) <= cutoff - SENDING_GRACE),
        )
        stale = [
            (c.id, c.provider_sid)
            for c in session.scalars(
                select(Call)
                .where(
                    col(Call.provider) == telephony.name,
                    col(Call.status).not_in(FINAL_CALL_STATUSES),
                    unanswered | (col(Call.answered_at) <= talk_cutoff),
                    col(Call.id).not_in(skip) if skip else true(),
                )
                .order_by(col(Call.id))
                .limit(50)
            )
        ]
    settled = 0
    for call_id, sid in stale:
        assert call_id is not None
        try:
            if sid is not None:
                found: ProviderCall | None = telephony.fetch(sid)
            else:
                with db.read() as session:
                    call = session.get(Call, call_id)
                    assert call is not None
                    taken = _adopted_sids(session, to=call.to)
                found = telephony.look_up(call=call, taken=taken)
        except Exception as exc:
            log.warning("reconcile call %s: %s", call_id, exc)
            continue
        try:
            if _settle(db, call_id=call_id, found=found, now_in=now_in):
                settled += 1
        except Exception as exc:
            failing.failed(call_id, now=now, error=exc)
        else:
            failing.passed(call_id)
    failing.settle(now=now)
    return settled


def _settle(db: Database, *, call_id: int, found: ProviderCall | None, now_in: NowIn) -> bool:
    """What the provider said about one stale call, in its own transaction;
    False if it had settled meanwhile."""
    with db.write() as session:
        locked = session.get(Call, call_id)
        assert locked is not None
        if locked.status in FINAL_CALL_STATUSES:
            return False
        if found is None:
            _fail(session, call=locked, reason="unknown: not found at the provider", now_in=now_in)
        else:
            if locked.provider_sid is None:
                adopt(session, call=locked, sid=found.sid, now_in=now_in, how="reconciled")
            _apply_found(session, call=locked, found=found, now_in=now_in)
        return True


# --- a manager's test call: the one way, besides a manager, to lift a block ---


@dataclass(frozen=True, slots=True)
class TestCall:
    provider_sid: str | None  # None under simulated telephony
    to: str
    cleared: list[blocks.Block]


def test_call(
    db: Database, creator: CallCreator | None, *, campaign_id: int, to: str, now_in: NowIn
) -> TestCall:
    """Place one call from the campaign's caller id to `to` (a manager's phone),
    outside any transaction while the provider is asked, as every dial is. The
    provider accepting it proves the account and the campaign's set-up: the
    account's block and the campaign's are lifted. A refusal answers with its
    row of the error table, and a blocking fault blocks (or keeps blocking)."""
    with db.read() as session:
        campaign = get_campaign(session, campaign_id=campaign_id)
        try:
            number = normalize_phone(to, region=campaign.default_region)
        except PhoneError as exc:
            raise Invalid(str(exc), code="invalid_phone", field="to") from exc
        if not campaign.caller_id:
            raise Conflict(f"campaign {campaign_id} has no caller_id", code="no_caller_id")
        params = creator.test_call_params(to=number, campaign=campaign) if creator else None
    sid: str | None = None
    if creator is not None and params is not None:
        try:
            sid = creator.send_create(db, params=params, campaign=campaign)
        except CreateNotPlaced as exc:
            _test_call_refused(db, campaign_id=campaign_id, exc=exc, now_in=now_in)
        except CreateUnknown as exc:
            raise Conflict(
                f"the test call's outcome is unknown ({exc}); nothing was lifted",
                code="test_call_unknown",
            ) from exc
    with db.write() as session:
        cleared = [
            b
            for b in (
                blocks.clear(session, campaign_id=None),
                blocks.clear(session, campaign_id=campaign_id),
            )
            if b is not None
        ]
    for b in cleared:
        log.warning("dialing block %s (%s) lifted by a test call to %s", b.code, b.scope, number)
    return TestCall(provider_sid=sid, to=number, cleared=cleared)


def _test_call_refused(
    db: Database, *, campaign_id: int, exc: CreateNotPlaced, now_in: NowIn
) -> NoReturn:
    fault = exc.fault
    if fault is None:
        raise Conflict(f"the test call was not placed: {exc}", code="test_call_failed")
    if fault.action in BLOCKS:
        with db.write() as session:
            blocks.raise_block(
                session,
                fault=fault,
                campaign_id=campaign_id,
                detail=f"{fault.meaning}. {exc}",
                call_id=None,
                now=now_in(session),
            )
    if fault.action == FaultAction.retire_phone:
        raise Invalid(f"{fault.meaning}: {exc}", code=fault.code, field="to")
    raise Conflict(
        f"the test call was refused: {fault.meaning} ({exc})",
        code=fault.code,
        provider_code=fault.provider_code,
    )
