"""The simulation harness's own reads, hand-written: each step of a floor's
day asks when each due job is next due, which conversations began and when
the next lead becomes callable; through the ORM their statement building cost
more than the run's dial-time checks.

`DUES`: the five due jobs' next instants (dialer.jobs.DUE_JOBS, in the order
of `DUE_JOB_NAMES`) in one statement: what each job's own `next_due_at` reads
when no row of it is benched (the harness asks the jobs themselves then).
Checked against them by tests/test_simulation_speed.py."""

from __future__ import annotations

from dialer.calls.models import FINAL_CALL_STATUSES, AnsweredBy
from dialer.leads.models import LeadStatus
from dialer.promises.models import PromiseStatus
from dialer.sql import sql

DUE_JOB_NAMES = (
    "provider_reports",
    "connect_waiting",
    "promise_due",
    "promise_windows",
    "claim_expiry",
)
DUES = sql(
    "simulation.dues",
    "SELECT (SELECT min(sim_final_at) FROM call WHERE sim_final_at IS NOT NULL),"
    " (SELECT min(connect_by_at) FROM call WHERE connect_by_at IS NOT NULL),"
    " (SELECT min(due_at) FROM promise"
    f" WHERE status = '{PromiseStatus.scheduled.value}' AND due_notified_at IS NULL),"
    " (SELECT min(reserved_until) FROM lead WHERE reserved_until IS NOT NULL),"
    " (SELECT min(claim_expires_at) FROM claim)",
)

_FINAL = ", ".join(f"'{s}'" for s in sorted(FINAL_CALL_STATUSES))
# Calls of the campaign bridged to an agent, a person on the line, not ended.
# Parameters: created since, campaign id.
CONVERSATIONS = sql(
    "simulation.conversations",
    "SELECT id, agent_id, answered_at, for_promise, connected_at FROM call"
    " WHERE created_at >= ? AND campaign_id = ? AND agent_id IS NOT NULL"
    f" AND answered_by = '{AnsweredBy.human.value}' AND disposition IS NULL"
    f" AND status NOT IN ({_FINAL})",
)
# The campaign's next retry or deferred lead. Parameters: campaign id, after.
NEXT_CALLABLE = sql(
    "simulation.next_callable",
    "SELECT min(next_attempt_at) FROM lead"
    f" WHERE campaign_id = ? AND status = '{LeadStatus.scheduled.value}'"
    " AND next_attempt_at > ?",
)
