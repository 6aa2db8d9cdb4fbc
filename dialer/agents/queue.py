"""The next-lead queue: which lead an agent gets, and the claim that holds it.

The queue is a list of tiers, tried in order; each tier is one indexed query that
returns candidates best-first. Promises (owned, then for anyone) slot in as tiers
ahead of the retry and new-lead tiers, without touching these. The order the
tiers implement is stated as a pure rule in `dialer.agents.order`.

Claims are atomic on both engines: on PostgreSQL the candidate row is taken with
`FOR UPDATE SKIP LOCKED` (and the agent row locked so one agent's parallel
requests serialize); on SQLite the whole transaction runs under `BEGIN IMMEDIATE`.
Behind both, the `claim` table's unique keys on `lead_id` and `agent_id` make a
lead held by two agents impossible rather than unlikely.

Every agent asks for a lead all day long, so the claim runs as hand-written SQL
on the request's own transaction (`RawSql`): seven short statements, no ORM
objects, campaign rules cached per campaign version. The rare paths (a lead
rejected at the last check) go through the ORM and the lead's history as usual.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from threading import Lock
from typing import Any, Protocol

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.agents import queue_sql
from dialer.agents.models import Agent, AgentState, Claim
from dialer.agents.order import ClaimReason
from dialer.calls.models import FINAL_CALL_STATUSES, Call
from dialer.campaign.hours import CallingHours
from dialer.campaign.models import Campaign, CampaignStatus
from dialer.campaign.service import calling_hours_of, retry_policy_of
from dialer.db import Work, is_postgres, raw_of
from dialer.errors import Conflict, NotFound
from dialer.failing import FailingRows, each_row
from dialer.leads import history, lifecycle
from dialer.leads.dialrules import Uncallable, over_daily_cap, why_uncallable
from dialer.leads.models import Lead, LeadStatus, NextAttemptReason
from dialer.leads.phonebook import phone_facts_raw

# How many candidates one request will look at before saying "nothing now": the
# dial-time checks (DNC, daily cap) reject a lead only after a race, so a handful
# of rejections in a row means something is off, not that the queue is long.
MAX_REJECTED_CANDIDATES = 20


@dataclass(frozen=True, slots=True)
class CampaignRules:
    """What the queue needs of a campaign, built once per campaign version."""

    campaign_id: int
    hours_by_zone: dict[str, CallingHours]
    max_attempts_per_day: int
    # zone → (from, until, open): calling hours change state a few times a day, so
    # the answer holds until the next change instead of being recomputed per claim.
    _open_memo: dict[str, tuple[datetime, datetime | None, bool]] = field(default_factory=dict)

    def is_open(self, zone: str, *, at: datetime) -> bool:
        memo = self._open_memo.get(zone)
        if memo is not None and memo[0] <= at and (memo[1] is None or at < memo[1]):
            return memo[2]
        hours = self.hours_by_zone[zone]
        is_open = hours.is_open(at=at)
        # None: never changes again within the search horizon.
        until = hours.open_until(at=at) if is_open else hours.next_opening(at=at)
        self._open_memo[zone] = (at, until, is_open)
        return is_open


@dataclass(frozen=True, slots=True)
class Scope:
    """One campaign as the queue sees it now: the lead time zones that are open."""

    rules: CampaignRules
    open_zones: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Candidate:
    lead_id: int
    campaign_id: int
    status: str
    timezone: str
    day_attempts: int
    day_attempts_date: str | None


class Tier(Protocol):
    reason: ClaimReason
    # Customer-requested calls (promises and their follow-ups) are outside the caps.
    capped: bool

    def candidate_sql(self, *, scope_sql: str) -> str:
        """SELECT of `queue_sql.CANDIDATE_COLUMNS` best first, with `scope_sql` in its WHERE
        followed by the parameters `params` gives."""
        ...

    def params(self, *, now: Any, agent_id: int) -> list[Any]: ...


class PromisesDue:
    """Due promises this agent may take: its own first (`dialer.agents.order` tiers
    1 and 2), then those for anyone, including those whose owner let the window
    pass. One query: promise leads due at any moment are few, and every claim
    pays for this tier, promise or not."""

    reason = ClaimReason.promise
    capped = False

    def candidate_sql(self, *, scope_sql: str) -> str:
        return queue_sql.PROMISES_DUE.format(scope=scope_sql)

    def params(self, *, now: Any, agent_id: int) -> list[Any]:
        return [now, agent_id]


class RetryDue:
    reason = ClaimReason.retry
    capped = True

    def candidate_sql(self, *, scope_sql: str) -> str:
        return queue_sql.RETRY_DUE.format(scope=scope_sql)

    def params(self, *, now: Any, agent_id: int) -> list[Any]:
        return [now]


class NewLeads:
    reason = ClaimReason.new
    capped = True

    def candidate_sql(self, *, scope_sql: str) -> str:
        return queue_sql.NEW_LEADS.format(scope=scope_sql)

    def params(self, *, now: Any, agent_id: int) -> list[Any]:
        return []


TIERS: list[Tier] = [PromisesDue(), RetryDue(), NewLeads()]


@dataclass(frozen=True, slots=True)
class NextLead:
    lead_id: int
    reason: str
    claim_expires_at: datetime
    # False when this is the claim the agent held already.
    fresh: bool = True


_rules_cache: dict[tuple[str, int, int], CampaignRules] = {}
_rules_lock = Lock()


def _rules(work: Work, *, campaign_id: int, version: int) -> CampaignRules:
    """Campaign rules keyed by (database, id, version): every edit bumps the version,
    so no worker is served stale hours."""
    key = (work.url, campaign_id, version)
    cached = _rules_cache.get(key)
    if cached is not None:
        return cached
    campaign = work.session.get(Campaign, campaign_id)
    assert campaign is not None
    rules = CampaignRules(
        campaign_id=campaign_id,
        hours_by_zone={
            zone: calling_hours_of(campaign, timezone=zone) for zone in campaign.lead_timezones
        },
        max_attempts_per_day=retry_policy_of(campaign).max_attempts_per_day,
    )
    with _rules_lock:
        if len(_rules_cache) > 1024:
            _rules_cache.clear()
        _rules_cache[key] = rules
    return rules


def open_scopes(work: Work, *, rows: list[tuple[Any, ...]], now: datetime) -> list[Scope]:
    scopes = []
    for row in rows:
        campaign_id, status, version = row[4:7]
        if campaign_id is None or status != CampaignStatus.active:
            continue
        rules = _rules(work, campaign_id=campaign_id, version=version)
        open_zones = tuple(zone for zone in rules.hours_by_zone if rules.is_open(zone, at=now))
        scopes.append(Scope(rules=rules, open_zones=open_zones))
    return scopes


def _scope_sql(scopes: list[Scope]) -> tuple[str, list[Any]]:
    clauses, params = [], []
    for scope in scopes:
        if not scope.open_zones:
            continue
        marks = ", ".join("?" for _ in scope.open_zones)
        clauses.append(f"(campaign_id = ? AND timezone IN ({marks}))")
        params.extend([scope.rules.campaign_id, *scope.open_zones])
    return "(" + " OR ".join(clauses) + ")", params


def claim_next(
    work: Work,
    *,
    agent_id: int,
    now: datetime,
    ttl: timedelta,
    only_campaigns: frozenset[int] | None = None,
    promises_only: bool = False,
) -> NextLead | None:
    """Claim the best lead for the agent, or return the one it holds already.
    Rows are locked on PostgreSQL; SQLite is serialized by BEGIN IMMEDIATE.
    `promises_only`: from the promise tiers alone (the predictive dialer's
    reserved calls; its unreserved ones claim with `claim_for_dialer`)."""
    work.flush()
    raw = work.raw
    if is_postgres(raw):
        # Serialize one agent's parallel requests. A statement of its own: a locking
        # read re-checks only the locked row after the wait, not what it joined, so
        # the held claim must be read by a later statement (a fresh snapshot).
        raw.rows(queue_sql.LOCK_AGENT, (agent_id,))
    rows = raw.rows(queue_sql.AGENT_WITH_CLAIM, (agent_id,))
    if not rows:
        raise NotFound(f"agent {agent_id} does not exist", code="agent_not_found")
    state, held_lead, held_reason, held_expires = rows[0][:4]
    if held_lead is not None:
        return NextLead(
            lead_id=held_lead,
            reason=held_reason,
            claim_expires_at=raw.read_instant(held_expires),
            fresh=False,
        )
    if state != AgentState.available:
        raise Conflict(
            f"agent {agent_id} is {state}; set the state to available to take leads",
            code="agent_not_available",
        )
    scopes = open_scopes(work, rows=rows, now=now)
    if only_campaigns is not None:
        # The progressive dialer claims only from the campaigns it dials for.
        scopes = [scope for scope in scopes if scope.rules.campaign_id in only_campaigns]
    if not any(scope.open_zones for scope in scopes):
        return None
    scope_sql, scope_params = _scope_sql(scopes)
    rules_of = {scope.rules.campaign_id: scope.rules for scope in scopes}
    rejected: list[int] = []
    for tier in TIERS[:1] if promises_only else TIERS:
        sql = tier.candidate_sql(scope_sql=scope_sql)
        tier_params = tier.params(now=raw.instant(now), agent_id=agent_id)
        while len(rejected) < MAX_REJECTED_CANDIDATES:
            params = [*scope_params, *tier_params]
            query = sql
            if rejected:
                query = query.replace(
                    " ORDER BY", f" AND id NOT IN ({', '.join('?' for _ in rejected)}) ORDER BY"
                )
                params.extend(rejected)
            found = raw.rows(query + " LIMIT 1" + raw.skip_locked, tuple(params))
            if not found:
                break
            candidate = Candidate(*found[0])
            if not _passes_dial_checks(
                work,
                candidate=candidate,
                rules=rules_of[candidate.campaign_id],
                now=now,
                capped=tier.capped,
            ):
                rejected.append(candidate.lead_id)
                continue
            expires_at = now + ttl
            if lifecycle.claim(
                raw,
                lead_id=candidate.lead_id,
                campaign_id=candidate.campaign_id,
                seen_status=candidate.status,
                agent_id=agent_id,
                reason=tier.reason,
                now=now,
                expires_at=expires_at,
            ):
                return NextLead(
                    lead_id=candidate.lead_id, reason=tier.reason, claim_expires_at=expires_at
                )
            rejected.append(candidate.lead_id)
    return None


# The tiers a dialer claim takes from: not the promises (they have their agent).
DIALER_TIERS: list[Tier] = [RetryDue(), NewLeads()]


def dialer_candidate_sql(tier: Tier, *, scope_sql: str) -> str:
    """A tier's candidates for a dialer claim: leads abandoned since the cutoff
    left out (its parameter follows the tier's own)."""
    return tier.candidate_sql(scope_sql=scope_sql).replace(
        " ORDER BY", f" AND {queue_sql.NO_RECALL} ORDER BY"
    )


def claim_for_dialer(
    work: Work,
    *,
    campaign_id: int,
    count: int,
    now: datetime,
    ttl: timedelta,
    no_recall_since: datetime | None,
) -> list[int]:
    """Up to `count` dialer claims (no agent yet, reason `predictive`) on the
    campaign's best callable leads, retry tier then new: the same order, open
    zones and dial-time checks as an agent's claim. A lead abandoned after
    `no_recall_since` is left out (None: none is). Returns the leads claimed,
    best first. The campaign must be active."""
    if count <= 0:
        return []
    work.flush()
    raw = work.raw
    campaign = work.session.get(Campaign, campaign_id)
    if campaign is None or campaign.status != CampaignStatus.active:
        return []
    rules = _rules(work, campaign_id=campaign_id, version=campaign.version)
    open_zones = tuple(zone for zone in rules.hours_by_zone if rules.is_open(zone, at=now))
    if not open_zones:
        return []
    scope_sql, scope_params = _scope_sql([Scope(rules=rules, open_zones=open_zones)])
    # Far in the past: a no_recall_hours of 0 leaves out nothing.
    cutoff = raw.instant(no_recall_since or datetime(2000, 1, 1, tzinfo=now.tzinfo))
    claimed: list[int] = []
    rejected: list[int] = []
    expires_at = now + ttl
    for tier in DIALER_TIERS:
        sql = dialer_candidate_sql(tier, scope_sql=scope_sql)
        tier_params = [*tier.params(now=raw.instant(now), agent_id=0), cutoff]
        while len(claimed) < count and len(rejected) < MAX_REJECTED_CANDIDATES:
            params = [*scope_params, *tier_params]
            query = sql
            skipped = [*rejected, *claimed]
            if skipped:
                query = query.replace(
                    " ORDER BY", f" AND id NOT IN ({', '.join('?' for _ in skipped)}) ORDER BY"
                )
                params.extend(skipped)
            want = count - len(claimed)
            found = raw.rows(query + f" LIMIT {int(want)}" + raw.skip_locked, tuple(params))
            if not found:
                break
            for row in found:
                candidate = Candidate(*row)
                if not _passes_dial_checks(
                    work, candidate=candidate, rules=rules, now=now, capped=tier.capped
                ) or not lifecycle.claim(
                    raw,
                    lead_id=candidate.lead_id,
                    campaign_id=candidate.campaign_id,
                    seen_status=candidate.status,
                    agent_id=None,
                    reason=ClaimReason.predictive,
                    now=now,
                    expires_at=expires_at,
                ):
                    rejected.append(candidate.lead_id)
                    continue
                claimed.append(candidate.lead_id)
        if len(claimed) >= count:
            break
    return claimed


def _passes_dial_checks(
    work: Work, *, candidate: Candidate, rules: CampaignRules, now: datetime, capped: bool
) -> bool:
    """What the indexed tier query cannot see: the do-not-call list (which may have
    grown since the lead was queued) and the per-day cap on the lead's local day.
    A lead failing here is moved out of the way so the next request skips it."""
    facts = phone_facts_raw(work.raw, lead_id=candidate.lead_id)
    hours = rules.hours_by_zone[candidate.timezone]
    why = why_uncallable(facts)
    over_cap = capped and over_daily_cap(
        day_attempts=candidate.day_attempts,
        day_attempts_date=candidate.day_attempts_date,
        local_date=hours.local_date(now).isoformat(),
        cap=rules.max_attempts_per_day,
    )
    if why is None and not over_cap:
        return True
    session = work.session
    lead = session.get(Lead, candidate.lead_id)
    assert lead is not None
    if why is not None:
        status = LeadStatus.dnc if why == Uncallable.dnc else LeadStatus.invalid
        lifecycle.close(
            session, lead=lead, status=status, actor="system", at=now, reason="queue check"
        )
    else:
        lifecycle.defer(
            session,
            lead=lead,
            until=hours.next_opening(at=hours.next_local_day_start(now)),
            reason=NextAttemptReason.daily_limit,
            actor="system",
            at=now,
        )
    session.flush()
    return False


def claim_of(session: Session, *, lead_id: int) -> Claim | None:
    return session.scalar(select(Claim).where(col(Claim.lead_id) == lead_id))


def release(session: Session, *, lead: Lead, actor: str, now: datetime, why: str) -> None:
    """Drop the claim on a lead; its status has been set by whoever released it."""
    assert lead.id is not None
    release_claim(session, lead_id=lead.id, actor=actor, now=now, why=why)


def release_claim(session: Session, *, lead_id: int, actor: str, now: datetime, why: str) -> None:
    """`release` by the lead's id, for a path that holds no Lead row (a call's
    end written in hand-written SQL)."""
    raw = raw_of(session)
    if raw is None or _holds_claim_of(session, lead_id=lead_id):
        # A claim row the session holds goes through the ORM, which keeps it
        # in step. One statement: the claim goes and says whose it was (both
        # engines have DELETE ... RETURNING).
        holders: list[int | None] = [
            h
            for (h,) in session.execute(
                delete(Claim).where(col(Claim.lead_id) == lead_id).returning(col(Claim.agent_id))
            )
        ]
    else:
        # Every ended call releases its lead: hand-written, and without the
        # ORM's autoflush (the caller's pending writes of the lead and the
        # call are flushed with the rest of the transaction's, once): no claim
        # row is held by the session (claims are written raw, never added as
        # rows), so nothing of it is pending or left stale.
        holders = [h for (h,) in raw.rows(queue_sql.RELEASE_CLAIM, (lead_id,))]
    holder = next((h for h in holders if h is not None), None)
    if holder is not None:
        _freed(session, agent_id=holder, now=now)
    if holders:
        history.record(
            session, lead_id=lead_id, kind="claim_released", actor=actor, at=now, why=why
        )


def _holds_claim_of(session: Session, *, lead_id: int) -> bool:
    """Whether the session holds the lead's claim row (a short session holds a
    few rows: the scan is cheaper than the ORM's statement)."""
    return any(
        isinstance(row, Claim) and row.lead_id == lead_id for row in session.identity_map.values()
    )


def _freed(session: Session, *, agent_id: int, now: datetime) -> None:
    """The agent holds no lead from now: it waits from here (longest waiting
    first, dialer.calls.connect)."""
    held = session.identity_map.get(session.identity_key(Agent, agent_id))
    if held is not None:
        # The row the session holds (the agent's own disposition changes it
        # too): written with its other changes, in the flush they go in.
        assert isinstance(held, Agent)
        held.free_since = now
        return
    raw = raw_of(session)
    if raw is None:
        session.execute(
            update(Agent)
            .where(col(Agent.id) == agent_id)
            .values(free_since=now)
            .execution_options(synchronize_session=False)
        )
        return
    # Hand-written: every call an agent ends frees it.
    raw.run(queue_sql.FREE_AGENT, (raw.instant(now), agent_id))


def has_live_call(session: Session, *, lead_id: int) -> bool:
    return (
        session.scalar(
            select(col(Call.id))
            .where(
                col(Call.lead_id) == lead_id,
                col(Call.disposition).is_(None),
                col(Call.status).not_in(FINAL_CALL_STATUSES),
            )
            .limit(1)
        )
        is not None
    )


def expire_claims(
    session: Session, *, now: datetime, ttl: timedelta, failing: FailingRows, limit: int = 500
) -> int:
    """An abandoned claim returns its lead to the pool with no attempt counted. A
    claim whose call is still live is extended instead: the agent is on the phone.
    A bounded batch (the rest follow a tick later); a claim that fails to expire
    is benched, the others expire."""
    query = select(Claim).where(col(Claim.claim_expires_at) <= now)
    skip = failing.skip(now=now)
    if skip:
        query = query.where(col(Claim.id).not_in(skip))
    expired = list(
        session.scalars(query.order_by(col(Claim.claim_expires_at), col(Claim.id)).limit(limit))
    )

    def expire(claim: Claim) -> None:
        if has_live_call(session, lead_id=claim.lead_id):
            claim.claim_expires_at = now + ttl
            return
        lead = session.get(Lead, claim.lead_id)
        assert lead is not None and lead.id is not None
        session.delete(claim)
        if claim.agent_id is not None:
            _freed(session, agent_id=claim.agent_id, now=now)
        history.record(
            session,
            lead_id=lead.id,
            kind="claim_expired",
            actor="system",
            at=now,
            agent_id=claim.agent_id,
            claimed_at=claim.claimed_at.isoformat(),
        )
        lifecycle.expire_claim(
            session, lead=lead, prev_status=claim.prev_status, actor="system", at=now
        )

    done = each_row(session, expired, expire, key=_claim_id, failing=failing, now=now)
    session.flush()
    return len(done)


def _claim_id(claim: Claim) -> int:
    assert claim.id is not None
    return claim.id


def next_claim_expiry(session: Session, *, skip: Collection[int] = ()) -> datetime | None:
    """`skip`: claims benched after failing (dialer.failing)."""
    query = select(col(Claim.claim_expires_at))
    if skip:
        query = query.where(col(Claim.id).not_in(skip))
    return session.scalar(query.order_by(col(Claim.claim_expires_at)).limit(1))
