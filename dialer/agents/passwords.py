"""Passwords and signing in with them.

Hashes are Argon2id (`argon2-cffi`'s `PasswordHasher`, its recommended
parameters; a hash made with older parameters is redone at the next sign-in).
Verifying one is deliberately slow (~0.1 s), so it runs only here: on sign-in
and on a password change, never on an ordinary request (those look up the
session cookie's digest, as fast as a bearer token).

Signing in reads, verifies outside any transaction (a write transaction held
through Argon2 would stall every other writer on SQLite), then writes: the
failure counter or the new session. The write re-reads the counter, so
attempts racing on several workers are counted and held back as if in turn.

Failures are counted per sign-in name (folded, `signin.normalize_name`),
known or not: an unknown name is answered, slowed and locked like a known one,
and costs the same Argon2 verify, so neither the answers nor their timing tell
which names exist."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.agents import sessions
from dialer.agents.events import publish
from dialer.agents.models import Agent, Role, SignInFailure
from dialer.agents.service import check_sign_in_name, create_agent, get_account, record
from dialer.agents.signin import Hold, hold, locks_now, normalize_name, password_problem
from dialer.db import Database
from dialer.errors import Forbidden, Invalid, Locked, TooManyRequests, Unauthorized

# Module-level so tests can swap in cheap parameters; production keeps the
# library's recommended ones.
HASHER = PasswordHasher()

# Failures this old, of a name not locked, are forgotten: the rows of names
# guessed once do not pile up, and a person's typo of last week holds nothing back.
FORGET_AFTER = timedelta(days=1)


@cache
def _decoy_hash(hasher: PasswordHasher) -> str:
    """What a name without a password is verified against, so it costs what a
    real verify costs (made with the hasher in use, so with its parameters)."""
    return hasher.hash("no account has this password, it only takes the time")


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    try:
        matched = HASHER.verify(password_hash or _decoy_hash(HASHER), password)
        return matched and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def set_password(
    session: Session,
    *,
    agent_id: int,
    password: str,
    current_password: str | None,
    principal: Agent,
    actor: str,
    keep_session_id: int | None,
    now: datetime,
) -> Agent:
    """A new password. A manager sets any account's; an agent only its own, and
    only with its current one. It unlocks the sign-in name, clears its failures
    and ends the account's other sessions (`keep_session_id`: the one making the
    request, when it is the account's own)."""
    agent = get_account(session, agent_id=agent_id, lock=True)
    if principal.role != Role.manager:
        if principal.id != agent_id:
            raise Forbidden("agents may act only for themselves", code="not_your_resource")
        if not current_password or not verify(agent.password_hash, current_password):
            raise Forbidden(
                "current_password: not this account's password", code="wrong_password",
                field="current_password",
            )  # fmt: skip
    assign_password(
        session,
        agent=agent,
        password=password,
        actor=actor,
        keep_session_id=keep_session_id if principal.id == agent_id else None,
        now=now,
    )
    return agent


def assign_password(
    session: Session,
    *,
    agent: Agent,
    password: str,
    actor: str,
    keep_session_id: int | None,
    now: datetime,
) -> None:
    """Store a new password on an account whose right to it was checked (by
    `set_password`, or by the demo that creates the account): its rules, the
    sign-in name's uniqueness, the unlock and the revocation."""
    assert agent.id is not None
    problem = password_problem(password=password, name=agent.name)
    if problem is not None:
        raise Invalid(f"password: {problem}", field="password")
    folded = check_sign_in_name(session, agent=agent, name=agent.name)
    agent.password_hash = hash_password(password)
    agent.sign_in_name = folded
    session.flush()
    failure = session.get(SignInFailure, folded)
    if failure is not None:
        session.delete(failure)
    revoked = sessions.revoke_all(session, agent_id=agent.id, keep_id=keep_session_id)
    record(session, agent_id=agent.id, kind="password_set", actor=actor, at=now,
           sessions_ended=revoked)  # fmt: skip
    # The account's open event streams end on it; one whose session was kept
    # reconnects, the others are refused.
    publish(session, kind="password_set", at=now, agent_id=agent.id, campaign_id=None)
    session.flush()


def create_account(
    session: Session,
    *,
    name: str,
    role: Role,
    campaign_ids: list[int],
    endpoint: str | None,
    password: str | None,
    actor: str,
    now: datetime,
) -> tuple[Agent, str]:
    """A new account and its token, with its sign-in password when one is given:
    one write, so a refused password (too short, the name) leaves no account."""
    agent, token = create_agent(
        session,
        name=name,
        role=role,
        campaign_ids=campaign_ids,
        endpoint=endpoint,
        now=now,
        actor=actor,
    )
    if password is not None:
        assign_password(session, agent=agent, password=password, actor=actor,
                        keep_session_id=None, now=now)  # fmt: skip
    return agent, token


@dataclass(frozen=True, slots=True)
class SignedIn:
    agent: Agent
    token: str  # the cookie's value; only its digest is stored
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class _Seen:
    """What the read before the verify found for a sign-in name."""

    agent_id: int | None
    password_hash: str | None


def _refusal(held: Hold) -> TooManyRequests | Locked:
    if held.locked:
        return Locked(
            "this sign-in name is locked after 10 failed sign-ins; wait until locked_until "
            "or ask a manager to set a new password",
            code="account_locked",
            locked_until=held.until.isoformat(),
        )
    return TooManyRequests(
        f"too many failed sign-ins for this name: wait {held.retry_after} s before the next",
        code="sign_in_backoff",
        retry_after=held.retry_after,
    )


def _held(failure: SignInFailure | None, *, now: datetime) -> Hold | None:
    if failure is None:
        return None
    return hold(
        failures=failure.failures,
        last_failed_at=failure.last_failed_at,
        locked_until=failure.locked_until,
        now=now,
    )


def _bad_credentials() -> Unauthorized:
    return Unauthorized("name or password is wrong", code="bad_credentials")


def sign_in(
    db: Database,
    *,
    name: str,
    password: str,
    now_in: Callable[[Session], datetime],
    session_clock: Callable[[], datetime],
    lifetime: sessions.Lifetime,
    lockout: timedelta,
    replaces: str | None = None,
) -> SignedIn:
    """A new session for the account that signs in as `name` with `password`,
    or the refusal (raised after its failure is committed). `replaces`: the
    cookie the browser had, whose session ends with this sign-in (a shared
    computer's previous user is signed out by the next)."""
    folded = normalize_name(name)
    with db.read() as session:
        now = now_in(session)
        held = _held(session.get(SignInFailure, folded), now=now)
        if held is not None:
            raise _refusal(held)
        found = session.scalar(select(Agent).where(col(Agent.sign_in_name) == folded))
        seen = _seen_of(found)
    ok = verify(seen.password_hash, password)
    # A hash made with older parameters is redone now, also outside the transaction.
    rehashed = None
    if ok and seen.password_hash is not None and HASHER.check_needs_rehash(seen.password_hash):
        rehashed = hash_password(password)
    with db.work() as work:
        session = work.session
        now = now_in(session)
        failure = session.scalar(
            select(SignInFailure).where(col(SignInFailure.name) == folded).with_for_update()
        )
        held = _held(failure, now=now)
        if held is not None:
            # Another attempt failed meanwhile, on this worker or another.
            refusal: Exception = _refusal(held)
        else:
            agent = session.get(Agent, seen.agent_id) if seen.agent_id is not None else None
            if ok and agent is not None and agent.password_hash == seen.password_hash:
                if not agent.active:
                    refusal = Unauthorized(
                        "this account was deactivated; a manager can reactivate it",
                        code="account_deactivated",
                    )
                else:
                    if replaces:
                        sessions.close_by_token(session, token=replaces)
                    return _signed_in(session, agent=agent, failure=failure, rehashed=rehashed,
                                      now=now, session_now=session_clock(),
                                      lifetime=lifetime)  # fmt: skip
            else:
                refusal = _count_failure(
                    session, folded=folded, failure=failure, agent=agent, now=now, lockout=lockout
                )
    raise refusal


def _seen_of(agent: Agent | None) -> _Seen:
    if agent is None:
        return _Seen(agent_id=None, password_hash=None)
    return _Seen(agent_id=agent.id, password_hash=agent.password_hash)


def _signed_in(
    session: Session,
    *,
    agent: Agent,
    failure: SignInFailure | None,
    rehashed: str | None,
    now: datetime,
    session_now: datetime,
    lifetime: sessions.Lifetime,
) -> SignedIn:
    assert agent.id is not None and agent.password_hash is not None
    if failure is not None:
        session.delete(failure)
    if rehashed is not None:
        agent.password_hash = rehashed
    # Sessions keep real time (`session_now`); the history, the service's clock.
    sessions.purge_expired(session, agent_id=agent.id, now=session_now, lifetime=lifetime)
    opened = sessions.open_session(session, agent=agent, now=session_now, lifetime=lifetime)
    record(session, agent_id=agent.id, kind="signed_in", actor=f"{agent.role}:{agent.id}", at=now,
           session_id=opened.row.id)  # fmt: skip
    session.flush()
    return SignedIn(
        agent=agent,
        token=opened.token,
        csrf_token=opened.row.csrf_token,
        expires_at=sessions.expires_at(opened.row, lifetime=lifetime),
    )


def _count_failure(
    session: Session,
    *,
    folded: str,
    failure: SignInFailure | None,
    agent: Agent | None,
    now: datetime,
    lockout: timedelta,
) -> Exception:
    _forget_stale(session, now=now, keep=folded)
    if failure is None:
        failure = SignInFailure(name=folded, failures=0, last_failed_at=now)
        session.add(failure)
    elif failure.locked_until is not None or failure.last_failed_at < now - FORGET_AFTER:
        # The lock-out ran out, or the last failure is old: a fresh start, not
        # one more strike.
        failure.failures = 0
        failure.locked_until = None
    failure.failures += 1
    failure.last_failed_at = now
    if not locks_now(failure.failures):
        session.flush()
        return _bad_credentials()
    failure.locked_until = now + lockout
    if agent is not None:
        assert agent.id is not None
        until = failure.locked_until.isoformat()
        record(session, agent_id=agent.id, kind="sign_in_locked", actor="system", at=now,
               failures=failure.failures, locked_until=until)  # fmt: skip
    session.flush()
    return _refusal(Hold(locked=True, until=failure.locked_until, retry_after=0))


def _forget_stale(session: Session, *, now: datetime, keep: str) -> None:
    """Delete other names' stale failures (`keep`'s row is being counted)."""
    stale = now - FORGET_AFTER
    session.execute(
        delete(SignInFailure).where(
            col(SignInFailure.name) != keep,
            col(SignInFailure.last_failed_at) < stale,
            col(SignInFailure.locked_until).is_(None) | (col(SignInFailure.locked_until) < now),
        )
    )


def sign_out(session: Session, *, row_id: int, agent: Agent, now: datetime) -> None:
    assert agent.id is not None
    sessions.close(session, session_id=row_id)
    record(session, agent_id=agent.id, kind="signed_out", actor=f"{agent.role}:{agent.id}", at=now)
