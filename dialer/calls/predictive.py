"""Predictive dialing: the dialer places more calls than free agents, paced
against the campaign's abandon cap.

Every scheduler tick (1 s), for each active predictive campaign, one
transaction:

1. answered calls waiting for an agent go to the agents free now
   (dialer.calls.connect, longest waiting first);
2. a free agent with a promise due gets a reserved call, as progressive dialing
   does (a promise has its agent: it is never an unreserved call);
3. the pacer (`Runtime.pacer`, dialer.calls.pacer.pace by default) decides from
   `gather_inputs` how many unreserved calls to place; the dialer claims that
   many leads of the retry and new tiers (`claim_for_dialer`: not a lead
   abandoned within `no_recall_hours`) and places them (`place_call` with no
   principal: actor `dialer`). A lead the dial-time checks refuse (the DNC list
   grew, hours closed, a cap) is given back, never dialled.

The campaign's abandon standing is read once per round
(dialer.calls.standing: the window's older part counted once a minute, its
last two hours every round) and handed to the pacer and every placement, so
its count stays off the per-dial path. The due job
`connect_waiting` (`connect_waiting` below) abandons a waiting call at its
`connect_by_at`, or connects it if an agent freed up."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from threading import Lock

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key
from sqlmodel import col

from dialer.agents.models import Agent
from dialer.agents.queue import claim_for_dialer, claim_next, claim_of, release
from dialer.calls import connect
from dialer.calls.abandon import AbandonStanding
from dialer.calls.best_hour import hour_answer_rate
from dialer.calls.disposition import abandon, apply_status_update
from dialer.calls.hour_stats import answer_stats
from dialer.calls.models import (
    FINAL_CALL_STATUSES,
    AnsweredBy,
    Call,
    CallStatus,
    Outcome,
)
from dialer.calls.pacer import MIN_ANSWER_SAMPLES, Pacer, PacerDecision, PacerInputs
from dialer.calls.placing import place_call
from dialer.calls.predictive_sql import (
    AGENTS,
    AGENTS_WITH_ENDPOINT,
    CAMPAIGN_STATE,
    FREE_FOR_PROMISE,
    IN_FLIGHT,
    PREDICTIVE_CAMPAIGNS,
    PREDICTIVE_CAMPAIGNS_WITH_CALLER_ID,
)
from dialer.calls.standing import standing_now
from dialer.campaign.models import Campaign, CampaignStatus, DialMode
from dialer.campaign.service import abandon_policy_of, calling_hours_of, zone_of
from dialer.db import Database, Work, raw_in, savepoint
from dialer.errors import DialerError
from dialer.failing import FailingRows, each_row
from dialer.leads import lifecycle
from dialer.leads.models import Lead
from dialer.telephony.base import NowIn, Telephony

log = logging.getLogger("dialer.predictive")

# Ring and talk times the pacer learns from: the campaign's latest answered
# calls, read again after DISTRIBUTION_TTL of domain time.
DISTRIBUTION_CALLS = 300
DISTRIBUTION_DAYS = 7
DISTRIBUTION_TTL = timedelta(seconds=60)
# Unreserved calls still ringing or waiting are this recent at most (a ring
# times out in under a minute, a wait in connect_seconds <= 30 s).
IN_FLIGHT_WINDOW = timedelta(minutes=10)
# An agent's connected call lasts at most this long (for "talking for").
TALK_WINDOW = timedelta(hours=4)
# calling hours closing later than this: the pacer is not told (None).
CLOSING_HORIZON = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class _Distributions:
    read_at: datetime
    ring_seconds: tuple[float, ...]
    talk_seconds: tuple[float, ...]


_distributions: dict[tuple[str, int], _Distributions] = {}
_distributions_lock = Lock()


def _seconds(later: datetime, earlier: datetime) -> float:
    return max(0.0, (later - earlier).total_seconds())


def _distributions_of(session: Session, *, campaign_id: int, now: datetime) -> _Distributions:
    """Recent ring and talk times of the campaign, cached per campaign for
    DISTRIBUTION_TTL of domain time (a clock moved back reads again)."""
    key = (str(session.get_bind().engine.url), campaign_id)
    cached = _distributions.get(key)
    if cached is not None and cached.read_at <= now < cached.read_at + DISTRIBUTION_TTL:
        return cached
    rows = session.execute(
        select(
            col(Call.created_at),
            col(Call.answered_at),
            col(Call.connected_at),
            col(Call.ended_at),
            col(Call.disposition),
        )
        .where(
            col(Call.campaign_id) == campaign_id,
            col(Call.created_at) >= now - timedelta(days=DISTRIBUTION_DAYS),
            col(Call.created_at) <= now,
            col(Call.answered_at).is_not(None),
            col(Call.answered_by) == AnsweredBy.human,
        )
        .order_by(col(Call.created_at).desc(), col(Call.id).desc())
        .limit(DISTRIBUTION_CALLS)
    ).all()
    ring: list[float] = []
    talk: list[float] = []
    for created_at, answered_at, connected_at, ended_at, disposition in rows:
        assert answered_at is not None
        ring.append(_seconds(answered_at, created_at))
        if ended_at is not None and disposition != Outcome.abandoned:
            talk.append(_seconds(ended_at, connected_at or answered_at))
    found = _Distributions(read_at=now, ring_seconds=tuple(ring), talk_seconds=tuple(talk))
    with _distributions_lock:
        if len(_distributions) > 1024:
            _distributions.clear()
        _distributions[key] = found
    return found


@dataclass(frozen=True, slots=True)
class _Closing:
    read_at: datetime
    any_open: bool
    # The last open lead zone's closing (None: not within the hours' look-ahead).
    until: datetime | None


_closing: dict[tuple[str, int, int], _Closing] = {}


def _closes_in(session: Session, campaign: Campaign, *, now: datetime) -> float | None:
    """Seconds until the last of the campaign's lead zones closes (None: more
    than an hour away); 0 when none is open. Finding a closing walks the calling
    hours ahead, so the answer is kept per campaign version for
    DISTRIBUTION_TTL of domain time, or until that closing."""
    assert campaign.id is not None
    key = (str(session.get_bind().engine.url), campaign.id, campaign.version)
    cached = _closing.get(key)
    if (
        cached is None
        or not cached.read_at <= now < cached.read_at + DISTRIBUTION_TTL
        or (cached.until is not None and now >= cached.until)
    ):
        cached = _read_closing(campaign, now=now)
        with _distributions_lock:
            if len(_closing) > 1024:
                _closing.clear()
            _closing[key] = cached
    if not cached.any_open:
        return 0.0
    if cached.until is None:
        return None
    left = cached.until - now
    return None if left > CLOSING_HORIZON else left.total_seconds()


def _read_closing(campaign: Campaign, *, now: datetime) -> _Closing:
    latest: datetime | None = None
    any_open = False
    for zone in campaign.lead_timezones or [campaign.timezone]:
        hours = calling_hours_of(campaign, timezone=zone)
        if not hours.is_open(at=now):
            continue
        until = hours.open_until(at=now)
        if until is None:
            return _Closing(read_at=now, any_open=True, until=None)
        any_open = True
        latest = until if latest is None else max(latest, until)
    return _Closing(read_at=now, any_open=any_open, until=latest)


def gather_inputs(
    session: Session,
    *,
    campaign: Campaign,
    now: datetime,
    standing: AbandonStanding | None = None,
    max_calls: int | None = None,
    need_endpoint: bool = False,
) -> PacerInputs:
    """The pacer's snapshot of the campaign's floor now: its agents, its calls
    in flight, the answer rate of this local hour, the recent ring and talk
    times (cached), the abandon window (`standing_now`). A few indexed
    queries. `standing`: the abandon standing when the caller read it already.
    `need_endpoint`: only agents the provider can bridge to count (a real
    provider). An agent of several predictive campaigns is counted by the first
    of them only (the lowest id): each pacer counting it would dial ahead for one
    agent twice."""
    assert campaign.id is not None
    campaign_id = campaign.id
    policy = abandon_policy_of(campaign)
    if standing is None:
        standing = standing_now(session, campaign=campaign, now=now)
    # Hand-written (predictive_sql): read each second, where the ORM's
    # statement building cost more than the reads. Raw SQL does not autoflush:
    # what the round wrote so far (its promise calls) is flushed first.
    raw = raw_in(session)
    rows = raw.rows(
        AGENTS_WITH_ENDPOINT if need_endpoint else AGENTS,
        (campaign_id, True, connect.MAX_AGENTS, raw.instant(now - TALK_WINDOW)),
    )
    seen: set[int] = set()
    signed_in = waiting_agents = 0
    wrapup_left: list[float] = []
    talking_for: list[float] = []
    for agent_id, wrapup_until, claim_id, elsewhere, connected_at, answered_at in rows:
        if elsewhere:
            continue  # a lower predictive campaign's pacer counts this agent
        if agent_id not in seen:
            seen.add(agent_id)
            signed_in += 1
            if claim_id is None:
                until = None if wrapup_until is None else raw.read_instant(wrapup_until)
                if until is not None and until > now:
                    wrapup_left.append(_seconds(until, now))
                else:
                    waiting_agents += 1
        since = connected_at if connected_at is not None else answered_at
        if claim_id is not None and since is not None:
            talking_for.append(_seconds(now, raw.read_instant(since)))
    ringing_for: list[float] = []
    calls_waiting = 0
    for created_at, answered_at, connected_at, status in raw.rows(
        IN_FLIGHT, (campaign_id, raw.instant(now - IN_FLIGHT_WINDOW), False)
    ):
        if status in FINAL_CALL_STATUSES or connected_at is not None:
            continue
        if answered_at is None:
            ringing_for.append(_seconds(now, raw.read_instant(created_at)))
        else:
            calls_waiting += 1
    stats = answer_stats(session, campaign_id=campaign_id, now=now)
    hour = now.astimezone(zone_of(campaign)).hour
    # An hour not yet tried enough paces by every hour's pooled rate, not by none
    # (which would fall back to one call per free agent at each hour's turn).
    rate, samples = hour_answer_rate(stats, hour=hour, min_samples=MIN_ANSWER_SAMPLES)
    dist = _distributions_of(session, campaign_id=campaign_id, now=now)
    return PacerInputs(
        now=now,
        agents_signed_in=signed_in,
        agents_waiting=waiting_agents,
        wrapup_left=tuple(wrapup_left),
        talking_for=tuple(talking_for),
        calls_ringing=len(ringing_for),
        calls_waiting=calls_waiting,
        answer_rate=rate,
        answer_samples=samples,
        ring_seconds=dist.ring_seconds,
        talk_seconds=dist.talk_seconds,
        wrapup_seconds=campaign.wrapup_seconds,
        abandoned=standing.abandoned,
        answered_by_person=standing.answered,
        max_rate=policy.max_rate,
        closes_in=_closes_in(session, campaign, now=now),
        max_calls=max_calls if max_calls is not None else campaign.cps,
        ringing_for=tuple(ringing_for),
        connect_seconds=float(policy.connect_seconds),
    )


def predictive_campaigns(
    session: Session, *, needs_caller_id: bool, skip: Collection[int] = ()
) -> list[int]:
    """Active predictive campaigns the provider would take calls for: not
    blocked (`blocks.blocked_campaigns`' rule, in the same statement)."""
    rows = raw_in(session).rows(
        PREDICTIVE_CAMPAIGNS_WITH_CALLER_ID if needs_caller_id else PREDICTIVE_CAMPAIGNS
    )
    return [cid for (cid,) in rows if cid not in skip]


# The campaign row each round reads, kept per database and campaign while its
# version stands (every change of a campaign bumps it: the queue's rules and
# the calling hours' closing are kept the same way). The round checks status,
# mode and version with one hand-written read; loading the row through the ORM
# every second cost more than the rest of an idle round. A kept row belongs to
# no session: it is read, never written or attached.
_campaigns: dict[tuple[str, int], Campaign] = {}


def _round_campaign(work: Work, *, campaign_id: int) -> Campaign | None:
    """The campaign of this round, when it is an active predictive one."""
    rows = work.raw.rows(CAMPAIGN_STATE, (campaign_id,))
    if not rows:
        return None
    status, dial_mode, version = rows[0]
    if status != CampaignStatus.active or dial_mode != DialMode.predictive:
        return None
    key = (work.url, campaign_id)
    kept = _campaigns.get(key)
    if kept is not None and kept.version == version:
        return kept
    session = work.session
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or campaign.version != version:
        return None  # changed since the read (PostgreSQL): the next round sees it
    # Out of this session at once: a rollback would expire a row it holds, and a
    # detached expired row cannot be read. The round's writers load their own.
    session.expunge(campaign)
    with _distributions_lock:
        if len(_campaigns) > 1024:
            _campaigns.clear()
        _campaigns[key] = campaign
    return campaign


def _free_for_promise(session: Session, *, campaign_id: int, now: datetime) -> list[int]:
    """The campaign's free agents who could take one of its due promises, the
    one waiting longest first (`connect.free_agent_ids`' order), as ids. Exact: an
    agent it leaves out finds nothing in `claim_next`'s promise tier (no due
    promise reserved for it or for anyone), and a round makes no promise due."""
    raw = raw_in(session)
    at = raw.instant(now)
    rows = raw.rows(FREE_FOR_PROMISE, (campaign_id, True, at, at, connect.MAX_AGENTS))
    # connect.free_agent_ids' order: the latest of the three instants.
    waiting = [
        (max(raw.read_instant(i) for i in instants if i is not None), int(agent_id))
        for agent_id, *instants in rows
    ]
    return [agent_id for _since, agent_id in sorted(waiting)]


def _give_back(session: Session, *, lead_id: int, now: datetime, why: str) -> None:
    """A dialer claim the dial-time checks refused: the lead goes back where it
    was (the queue's own checks close a DNC lead the next time it comes up)."""
    lead = session.get(Lead, lead_id)
    claim = claim_of(session, lead_id=lead_id)
    if lead is None or claim is None or claim.agent_id is not None:
        return
    prev_status = claim.prev_status
    release(session, lead=lead, actor="dialer", now=now, why=why)
    lifecycle.expire_claim(
        session, lead=lead, prev_status=prev_status, actor="dialer", at=now, reason=why
    )


def _reserved_promise_calls(
    work: Work,
    *,
    campaign_id: int,
    now: datetime,
    claim_ttl: timedelta,
    telephony: Telephony,
    dial: Callable[[int], None],
    standing: AbandonStanding,
) -> list[int]:
    """Free agents take the campaign's due promises first, each a reserved call
    of its own, as progressive dialing places them."""
    session = work.session
    placed: list[int] = []
    for agent_id in _free_for_promise(session, campaign_id=campaign_id, now=now):
        try:
            with savepoint(session):
                got = claim_next(
                    work,
                    agent_id=agent_id,
                    now=now,
                    ttl=claim_ttl,
                    only_campaigns=frozenset({campaign_id}),
                    promises_only=True,
                )
                if got is None:
                    continue  # none due for this agent; another's may be
                if not got.fresh:
                    continue
                agent = session.get(Agent, agent_id)
                assert agent is not None
                call = place_call(
                    session, principal=agent, lead_id=got.lead_id, phone=None, now=now,
                    telephony=telephony, dial=dial, standing=standing,
                )  # fmt: skip
        except DialerError as exc:
            log.info("promise call for agent %s skipped: %s", agent_id, exc.detail)
            continue
        assert call.id is not None
        placed.append(call.id)
    return placed


def campaign_round(
    work: Work,
    *,
    campaign_id: int,
    now: datetime,
    telephony: Telephony,
    claim_ttl: timedelta,
    dial: Callable[[int], None],
    pacer: Pacer,
) -> tuple[list[int], PacerDecision | None]:
    """One campaign's round, in the caller's transaction: the calls placed and
    the pacer's decision (None: the campaign is not dialled now)."""
    campaign = _round_campaign(work, campaign_id=campaign_id)
    if campaign is None:
        return [], None
    session = work.session
    connect.connect_waiting_calls(session, campaign_id=campaign_id, now=now)
    standing = standing_now(session, campaign=campaign, now=now)
    placed = _reserved_promise_calls(
        work, campaign_id=campaign_id, now=now, claim_ttl=claim_ttl, telephony=telephony,
        dial=dial, standing=standing,
    )  # fmt: skip
    # The calls just placed are in flight: the pacer sees them (max_calls: the
    # campaign's calls per second less those).
    inputs = gather_inputs(
        session,
        campaign=campaign,
        now=now,
        standing=standing,
        max_calls=max(0, campaign.cps - len(placed)),
        need_endpoint=telephony.name != "simulated",
    )
    decision = pacer(inputs)
    count = max(0, min(decision.calls, inputs.max_calls))
    if count == 0:
        return placed, decision
    if identity_key(Campaign, campaign_id) not in session.identity_map:
        # The claims and dials read the campaign through the session: the kept
        # row, of the version this round read, goes in without a SELECT (a
        # copy, held here: the session keeps rows by weak reference).
        campaign = session.merge(campaign, load=False)
    policy = abandon_policy_of(campaign)
    no_recall_since = (
        now - timedelta(hours=policy.no_recall_hours) if policy.no_recall_hours > 0 else None
    )
    lead_ids = claim_for_dialer(
        work,
        campaign_id=campaign_id,
        count=count,
        now=now,
        ttl=claim_ttl,
        no_recall_since=no_recall_since,
    )
    for lead_id in lead_ids:
        try:
            with savepoint(session):
                call = place_call(
                    session, principal=None, lead_id=lead_id, phone=None, now=now,
                    telephony=telephony, dial=dial, standing=standing,
                )  # fmt: skip
        except DialerError as exc:
            # Refused at the dial (the DNC list grew since the claim, the hours
            # closed, a cap): not dialled; the lead goes back.
            log.info("predictive dial of lead %s refused: %s", lead_id, exc.detail)
            _give_back(session, lead_id=lead_id, now=now, why=f"refused at dial: {exc.code}")
            continue
        assert call.id is not None
        placed.append(call.id)
    return placed, decision


def dial_round(
    db: Database,
    *,
    telephony: Telephony,
    now_in: NowIn,
    claim_ttl: timedelta,
    dial: Callable[[int], None],
    failing: FailingRows,
    pacer: Pacer,
) -> list[int]:
    """Every active predictive campaign's round, one transaction each; returns
    the attempts placed. A campaign whose round raises is logged, counted and
    benched in `failing` (by campaign id); the others are dialled."""
    with db.read() as session:
        round_at = now_in(session)
        campaigns = predictive_campaigns(
            session,
            needs_caller_id=telephony.name != "simulated",
            skip=failing.skip(now=round_at),
        )
    placed: list[int] = []
    for campaign_id in campaigns:
        try:
            with db.work() as work:
                now = now_in(work.session)
                calls, _decision = campaign_round(
                    work, campaign_id=campaign_id, now=now, telephony=telephony,
                    claim_ttl=claim_ttl, dial=dial, pacer=pacer,
                )  # fmt: skip
        except Exception as exc:
            # Rolled back: nothing of this campaign's round was written or dialled.
            failing.failed(campaign_id, now=round_at, error=exc)
        else:
            failing.passed(campaign_id)
            placed.extend(calls)
    failing.settle(now=round_at)
    return placed


# --- the due job: a waiting call connected, or abandoned at connect_by_at ------------


def next_connect_by(session: Session, *, skip: Collection[int] = ()) -> datetime | None:
    """When the next waiting call is abandoned if nobody takes it."""
    query = select(col(Call.connect_by_at)).where(col(Call.connect_by_at).is_not(None))
    if skip:
        query = query.where(col(Call.id).not_in(skip))
    return session.scalar(query.order_by(col(Call.connect_by_at)).limit(1))


def connect_waiting(
    session: Session, *, now: datetime, failing: FailingRows, limit: int = 500
) -> int:
    """Waiting calls whose `connect_by_at` has come: connected if an agent is
    free now, else abandoned (the customer hears the campaign's message; a
    simulated call ends then). A call that left the waiting state (the customer
    hung up, it was taken) is abandoned too if nobody took it: the customer
    answered and no agent came."""
    query = select(Call).where(col(Call.connect_by_at) <= now)
    skip = failing.skip(now=now)
    if skip:
        query = query.where(col(Call.id).not_in(skip))
    due = list(session.scalars(query.order_by(col(Call.connect_by_at), col(Call.id)).limit(limit)))

    def settle(call: Call) -> None:
        # Locked and read again: the voice webhook may have connected (or
        # abandoned) this call since the batch was read, and an agent who took
        # it must keep it (PostgreSQL; SQLite's writers are serialized).
        session.refresh(call, with_for_update=True)
        if call.connected_at is not None or call.disposition is not None:
            call.connect_by_at = None
            return
        if connect.waiting(call) and connect.connect_to_free(session, call=call, at=now):
            return
        campaign = session.get(Campaign, call.campaign_id)
        assert campaign is not None
        seconds = abandon_policy_of(campaign).connect_seconds
        abandon(session, call=call, at=now, why=f"no agent free within {seconds} s")
        if call.provider == "simulated" and call.status not in FINAL_CALL_STATUSES:
            # The message is read and the line hung up: the simulated call ends.
            apply_status_update(
                session,
                call=call,
                status=CallStatus.completed,
                answered_by=call.answered_by,
                at=now,
            )

    done = each_row(session, due, settle, key=_call_id, failing=failing, now=now)
    session.flush()
    return len(done)


def _call_id(call: Call) -> int:
    assert call.id is not None
    return call.id
