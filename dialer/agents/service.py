"""Accounts: agents and managers. Creation (token shown once), campaign
assignment, state, renaming, new tokens, deactivation and reactivation.

Every change to an account is a row of its history (`account_event`). A
deactivated account keeps its row, so its calls, promises and credit still name
it, but its token authenticates nothing (`dialer.auth`) and it takes no lead.
Handing its promises over spans domains: `dialer.agents.deactivation`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col

from dialer.agents.events import publish
from dialer.agents.models import AccountEvent, Agent, AgentCampaign, AgentState, Claim, Role
from dialer.agents.queue import has_live_call, release
from dialer.agents.service_sql import WRAPUP_BEGUN
from dialer.agents.sessions import revoke_all
from dialer.agents.signin import normalize_name
from dialer.auth import hash_token, holds_token, new_token
from dialer.calls.models import FINAL_CALL_STATUSES, Call
from dialer.campaign.models import Campaign
from dialer.db import raw_of
from dialer.errors import Conflict, Invalid, NotFound
from dialer.leads import lifecycle
from dialer.leads.models import Lead


class AccountDeactivated(Conflict):
    code = "account_deactivated"


class NameTaken(Conflict):
    code = "name_taken"


def check_sign_in_name(session: Session, *, agent: Agent, name: str) -> str:
    """The folded sign-in name `name` gives `agent`, refused (409 `name_taken`)
    when another account with a password has it (the unique column is the
    last word, should two requests race)."""
    folded = normalize_name(name)
    other = session.scalar(
        select(col(Agent.id)).where(col(Agent.sign_in_name) == folded, col(Agent.id) != agent.id)
    )
    if other is not None:
        raise NameTaken(
            f"name: another account with a password signs in as {name!r}; choose another name",
            field="name",
        )
    return folded


def get_agent(session: Session, *, agent_id: int) -> Agent:
    """An agent (not a manager): what takes leads, books promises, streams events."""
    agent = session.get(Agent, agent_id)
    if agent is None or agent.role != Role.agent:
        raise NotFound(f"agent {agent_id} does not exist", code="agent_not_found")
    return agent


def get_active_agent(session: Session, *, agent_id: int) -> Agent:
    """An agent that may take leads: a deactivated one is refused by name, not
    told to become available (which it cannot)."""
    agent = get_agent(session, agent_id=agent_id)
    if not agent.active:
        raise AccountDeactivated(f"agent {agent_id} is deactivated; reactivate it first")
    return agent


def get_account(session: Session, *, agent_id: int, lock: bool = False) -> Agent:
    """An agent or a manager. `lock`: the row is locked for the transaction
    (PostgreSQL), so two changes of one account serialize."""
    query = select(Agent).where(col(Agent.id) == agent_id)
    if lock:
        query = query.with_for_update()
    agent = session.scalar(query)
    if agent is None:
        raise NotFound(f"agent {agent_id} does not exist", code="agent_not_found")
    return agent


def record(
    session: Session, *, agent_id: int, kind: str, actor: str, at: datetime, **detail: Any
) -> None:
    session.add(AccountEvent(agent_id=agent_id, kind=kind, actor=actor, at=at, detail=detail))


def campaign_ids_of(session: Session, *, agent_id: int) -> list[int]:
    return list(
        session.scalars(
            select(col(AgentCampaign.campaign_id))
            .where(col(AgentCampaign.agent_id) == agent_id)
            .order_by(col(AgentCampaign.campaign_id))
        )
    )


def campaign_ids_by_agent(session: Session, *, agent_ids: Sequence[int]) -> dict[int, list[int]]:
    """The campaigns of a page of agents, in one query."""
    found: dict[int, list[int]] = {agent_id: [] for agent_id in agent_ids}
    rows = session.execute(
        select(col(AgentCampaign.agent_id), col(AgentCampaign.campaign_id))
        .where(col(AgentCampaign.agent_id).in_(list(agent_ids)))
        .order_by(col(AgentCampaign.agent_id), col(AgentCampaign.campaign_id))
    )
    for agent_id, campaign_id in rows:
        found[agent_id].append(campaign_id)
    return found


def _check_campaigns(session: Session, campaign_ids: list[int]) -> None:
    for index, campaign_id in enumerate(campaign_ids):
        if session.get(Campaign, campaign_id) is None:
            raise Invalid(
                f"campaign_ids[{index}]: campaign {campaign_id} does not exist",
                code="campaign_not_found",
                field=f"campaign_ids[{index}]",
            )


def create_agent(
    session: Session,
    *,
    name: str,
    campaign_ids: list[int],
    endpoint: str | None,
    now: datetime,
    role: Role = Role.agent,
    actor: str = "system",
    token: str | None = None,
) -> tuple[Agent, str]:
    """Returns the account and its token; only the digest is kept, so this is the
    one moment the token can be shown. `token`: one the caller already keeps (the
    demo's, across restarts); otherwise a new random one."""
    _check_campaigns(session, campaign_ids)
    token = token or new_token()
    agent = Agent(
        name=name,
        role=role,
        token_hash=hash_token(token),
        endpoint=endpoint,
        # A manager takes no leads: it is never "available" to the dialer.
        state=AgentState.available if role == Role.agent else AgentState.offline,
        created_at=now,
        state_changed_at=now,
    )
    session.add(agent)
    session.flush()
    assert agent.id is not None
    for campaign_id in dict.fromkeys(campaign_ids):
        session.add(AgentCampaign(agent_id=agent.id, campaign_id=campaign_id))
    record(
        session,
        agent_id=agent.id,
        kind="created",
        actor=actor,
        at=now,
        role=role.value,
        name=name,
        campaign_ids=list(dict.fromkeys(campaign_ids)),
    )
    session.flush()
    return agent, token


def _not_bootstrap(agent: Agent, *, bootstrap_token: str | None, doing: str) -> None:
    if holds_token(agent, token=bootstrap_token):
        raise Conflict(
            f"account {agent.id} holds DIALER_BOOTSTRAP_TOKEN: it cannot be {doing} through "
            "the API; change or unset the variable and restart",
            code="bootstrap_manager",
        )


def rotate_token(
    session: Session,
    *,
    agent: Agent,
    now: datetime,
    actor: str = "system",
    bootstrap_token: str | None = None,
) -> str:
    """A new token, shown once; the old digest is replaced in this transaction, so
    the old token is refused from the commit on."""
    if not agent.active:
        raise AccountDeactivated(
            f"account {agent.id} is deactivated; reactivating it issues a new token"
        )
    _not_bootstrap(agent, bootstrap_token=bootstrap_token, doing="given a new token")
    token = new_token()
    agent.token_hash = hash_token(token)
    assert agent.id is not None
    record(session, agent_id=agent.id, kind="token_rotated", actor=actor, at=now)
    # An open event stream of this account ends on it (`agents.events`).
    publish(session, kind="token_rotated", at=now, agent_id=agent.id, campaign_id=None)
    session.flush()
    return token


def set_campaigns(session: Session, *, agent_id: int, campaign_ids: list[int]) -> None:
    _check_campaigns(session, campaign_ids)
    session.execute(delete(AgentCampaign).where(col(AgentCampaign.agent_id) == agent_id))
    for campaign_id in dict.fromkeys(campaign_ids):
        session.add(AgentCampaign(agent_id=agent_id, campaign_id=campaign_id))
    session.flush()


def update(
    session: Session,
    *,
    agent_id: int,
    changes: dict[str, Any],
    actor: str,
    now: datetime,
) -> Agent:
    """Rename, reassign to campaigns, move the endpoint: only the fields given
    (`changes`), each change a row of the account's history."""
    agent = get_account(session, agent_id=agent_id, lock=True)
    if "name" in changes and changes["name"] != agent.name:
        if agent.password_hash is not None:
            agent.sign_in_name = check_sign_in_name(session, agent=agent, name=changes["name"])
        record(
            session, agent_id=agent_id, kind="renamed", actor=actor, at=now,
            old=agent.name, new=changes["name"],
        )  # fmt: skip
        agent.name = changes["name"]
    if "endpoint" in changes and changes["endpoint"] != agent.endpoint:
        record(
            session, agent_id=agent_id, kind="endpoint_changed", actor=actor, at=now,
            old=agent.endpoint, new=changes["endpoint"],
        )  # fmt: skip
        agent.endpoint = changes["endpoint"]
    if "campaign_ids" in changes:
        old = campaign_ids_of(session, agent_id=agent_id)
        new = list(dict.fromkeys(changes["campaign_ids"]))
        set_campaigns(session, agent_id=agent_id, campaign_ids=new)
        if sorted(old) != sorted(new):
            record(
                session, agent_id=agent_id, kind="campaigns_changed", actor=actor, at=now,
                old=old, new=new,
            )  # fmt: skip
    session.flush()
    return agent


def list_agents(
    session: Session,
    *,
    role: Role | None = Role.agent,
    active: bool | None = None,
    limit: int = 1000,
    after_id: int | None = None,
) -> list[Agent]:
    query = select(Agent).order_by(col(Agent.id)).limit(limit)
    if role is not None:
        query = query.where(col(Agent.role) == role)
    if active is not None:
        query = query.where(col(Agent.active) == active)
    if after_id is not None:
        query = query.where(col(Agent.id) > after_id)
    return list(session.scalars(query))


def set_state(
    session: Session,
    *,
    agent_id: int,
    state: AgentState,
    now: datetime,
    pause_code: str | None = None,
) -> Agent:
    """A person sets the state: it clears what the system set (`state_reason`),
    and `available` ends a wrap-up at once. `pause_code` goes with `paused` only
    and is one of the pause codes of the agent's campaigns."""
    if state == AgentState.not_answering:
        raise Invalid(
            "not_answering is set by the system when the agent's endpoint does not pick "
            "up; choose available, paused or offline",
            field="state",
        )
    agent = get_active_agent(session, agent_id=agent_id)
    if pause_code is not None:
        if state != AgentState.paused:
            raise Invalid("pause_code goes with the state paused only", field="pause_code")
        _check_pause_code(session, agent_id=agent_id, pause_code=pause_code)
    if agent.state != state or agent.pause_code != pause_code:
        agent.state = state
        agent.pause_code = pause_code
        agent.state_changed_at = now
    agent.state_reason = None
    if state == AgentState.available:
        agent.wrapup_until = None
    return agent


class InWrapup(Conflict):
    code = "in_wrapup"


def wrapping_up(agent: Agent | None, *, now: datetime) -> bool:
    """Whether the agent is in the wrap-up after its last disposition."""
    return agent is not None and agent.wrapup_until is not None and now < agent.wrapup_until


def check_not_wrapping_up(session: Session, *, agent: Agent, now: datetime) -> None:
    """`next` while wrapping up: refused, with when it ends (the console counts
    down). A lead the agent holds meanwhile (a customer rang back) is still
    handed back by `next`, as always."""
    if agent.state == AgentState.available and wrapping_up(agent, now=now):
        assert agent.wrapup_until is not None
        if session.scalar(select(col(Claim.id)).where(col(Claim.agent_id) == agent.id)):
            return
        raise InWrapup(
            f"agent {agent.id} is wrapping up until {agent.wrapup_until.isoformat()}; set"
            " available to end it now",
            wrapup_until=agent.wrapup_until.isoformat(),
        )


def begin_wrapup(session: Session, *, agent: Agent, wrapup_seconds: int, now: datetime) -> None:
    """After the agent's own disposition: no next lead for the campaign's
    `wrapup_seconds` (0: none, and nothing changes).

    An `agent` row the session holds is changed there, and written with its
    other changes in the flush they go in (the release of its claim sets when
    it became free). A principal the session does not hold (a caller that
    knows the agent's id and role only, `dialer simulate`) is not loaded for
    one column: written by hand, inside the unit of work's transaction, and
    the object told the value it holds now."""
    if wrapup_seconds <= 0:
        return
    until = now + timedelta(seconds=wrapup_seconds)
    raw = raw_of(session)
    if raw is None or agent in session:
        agent.wrapup_until = until
        return
    assert agent.id is not None
    # Without a flush: the statement bears on this one column of a row the
    # session does not hold, so nothing pending in the session bears on it.
    raw.run(WRAPUP_BEGUN, (raw.instant(until), agent.id))
    set_committed_value(agent, "wrapup_until", until)


def pause_codes_of(session: Session, *, agent_id: int) -> list[str]:
    """The pause codes of the agent's campaigns, in campaign order, each once."""
    rows = session.scalars(
        select(col(Campaign.pause_codes))
        .join(AgentCampaign, col(AgentCampaign.campaign_id) == col(Campaign.id))
        .where(col(AgentCampaign.agent_id) == agent_id)
        .order_by(col(Campaign.id))
    )
    return list(dict.fromkeys(code for codes in rows for code in codes))


def _check_pause_code(session: Session, *, agent_id: int, pause_code: str) -> None:
    allowed = pause_codes_of(session, agent_id=agent_id)
    if pause_code not in allowed:
        choices = ", ".join(allowed) if allowed else "none: the agent is on no campaign"
        raise Invalid(
            f"pause_code {pause_code!r} is not a pause code of the agent's campaigns ({choices})",
            code="unknown_pause_code",
            field="pause_code",
        )


def mark_not_answering(
    session: Session, *, agent: Agent, campaign_id: int, call_id: int, why: str, at: datetime
) -> bool:
    """The agent's endpoint rang for an answered customer and nobody picked up:
    hand them no more leads until they say they are back (`available`). Told to
    their console and to the campaign's floor. Returns whether the state changed
    (an agent already paused or offline keeps that state)."""
    if agent.state != AgentState.available:
        return False
    agent.state = AgentState.not_answering
    agent.state_changed_at = at
    agent.pause_code = None
    assert agent.id is not None
    payload = {"call_id": call_id, "why": why, "state": AgentState.not_answering.value}
    record(session, agent_id=agent.id, kind="not_answering", actor="system", at=at, **payload)
    publish(session, kind="agent_not_answering", at=at, agent_id=agent.id,
            campaign_id=campaign_id, **payload)  # fmt: skip
    publish(session, kind="agent_not_answering", at=at, agent_id=None, campaign_id=campaign_id,
            for_agent_id=agent.id, agent_name=agent.name, **payload)  # fmt: skip
    return True


def live_call_of(session: Session, *, agent_id: int) -> int | None:
    return session.scalar(
        select(col(Call.id))
        .where(
            col(Call.agent_id) == agent_id,
            col(Call.disposition).is_(None),
            col(Call.status).not_in(FINAL_CALL_STATUSES),
        )
        .limit(1)
    )


def _check_not_last_manager(session: Session, *, agent: Agent) -> None:
    if agent.role != Role.manager:
        return
    # Every active manager's row is locked (PostgreSQL) before counting: two
    # managers deactivating each other at once cannot both see the other remain.
    managers = list(
        session.scalars(
            select(col(Agent.id))
            .where(col(Agent.role) == Role.manager, col(Agent.active).is_(True))
            .order_by(col(Agent.id))
            .with_for_update()
        )
    )
    if managers == [agent.id]:
        raise Conflict(
            f"manager {agent.id} is the last active manager; create or reactivate another first",
            code="last_manager",
        )


def deactivate(
    session: Session,
    *,
    agent_id: int,
    actor: str,
    now: datetime,
    bootstrap_token: str | None = None,
) -> int | None:
    """The account stops working at the commit: its token is refused, it goes
    offline and its claim is released (the lead returns to where it was, no
    attempt counted). Returns the released lead's id. Refused while the agent is
    on a call (the call needs its agent), and for the last active manager.
    Already deactivated: nothing to do. Its promises: `dialer.agents.deactivation`."""
    agent = get_account(session, agent_id=agent_id, lock=True)
    if not agent.active:
        return None
    _not_bootstrap(agent, bootstrap_token=bootstrap_token, doing="deactivated")
    _check_not_last_manager(session, agent=agent)
    call_id = live_call_of(session, agent_id=agent_id)
    if call_id is not None:
        raise Conflict(
            f"agent {agent_id} is on call {call_id}; deactivate it once the call has ended",
            code="agent_on_call",
            call_id=call_id,
        )
    released = _release_claim(session, agent_id=agent_id, actor=actor, now=now)
    agent.active = False
    agent.deactivated_at = now
    if agent.state != AgentState.offline:
        agent.state = AgentState.offline
        agent.state_changed_at = now
    agent.pause_code = None
    agent.wrapup_until = None
    # Its browsers are signed out with it (a reactivation signs in anew).
    ended = revoke_all(session, agent_id=agent_id)
    record(
        session, agent_id=agent_id, kind="deactivated", actor=actor, at=now,
        released_lead_id=released, sessions_ended=ended,
    )  # fmt: skip
    publish(session, kind="account_deactivated", at=now, agent_id=agent_id, campaign_id=None)
    session.flush()
    return released


def release_claim(session: Session, *, agent_id: int, actor: str, now: datetime) -> int | None:
    """The agent lets go of the lead it holds (the console's "skip"): the lead goes
    back where it was, no attempt counted, `claim_released` in its history with
    the actor. Returns the lead's id; None when there was no claim. Refused
    while a call to the lead is live (the call needs its claim)."""
    get_agent(session, agent_id=agent_id)
    claim = session.scalar(select(Claim).where(col(Claim.agent_id) == agent_id).with_for_update())
    if claim is None:
        return None
    if has_live_call(session, lead_id=claim.lead_id):
        raise Conflict(
            f"lead {claim.lead_id} has a live call; hang up first, then release the claim",
            code="call_live",
            lead_id=claim.lead_id,
        )
    return _release(session, claim=claim, actor=actor, now=now, why="released_by_agent")


def _release_claim(session: Session, *, agent_id: int, actor: str, now: datetime) -> int | None:
    claim = session.scalar(select(Claim).where(col(Claim.agent_id) == agent_id).with_for_update())
    if claim is None:
        return None
    return _release(session, claim=claim, actor=actor, now=now, why="agent_deactivated")


def _release(session: Session, *, claim: Claim, actor: str, now: datetime, why: str) -> int:
    lead = session.scalar(select(Lead).where(col(Lead.id) == claim.lead_id).with_for_update())
    assert lead is not None and lead.id is not None
    release(session, lead=lead, actor=actor, now=now, why=why)
    lifecycle.expire_claim(
        session,
        lead=lead,
        prev_status=claim.prev_status,
        actor=actor,
        at=now,
        reason=why,
    )
    return lead.id


def reactivate(session: Session, *, agent_id: int, actor: str, now: datetime) -> tuple[Agent, str]:
    """Back at work, with a new token (shown once): the token it had when it was
    deactivated never works again. It comes back offline, with its campaigns."""
    agent = get_account(session, agent_id=agent_id, lock=True)
    if agent.active:
        raise Conflict(f"account {agent_id} is active", code="account_active")
    token = new_token()
    agent.token_hash = hash_token(token)
    agent.active = True
    agent.deactivated_at = None
    record(session, agent_id=agent_id, kind="reactivated", actor=actor, at=now)
    session.flush()
    return agent, token


def account_history(
    session: Session, *, agent_id: int, limit: int, after_id: int | None
) -> list[AccountEvent]:
    query = (
        select(AccountEvent)
        .where(col(AccountEvent.agent_id) == agent_id)
        .order_by(col(AccountEvent.id))
        .limit(limit)
    )
    if after_id is not None:
        query = query.where(col(AccountEvent.id) > after_id)
    return list(session.scalars(query))
