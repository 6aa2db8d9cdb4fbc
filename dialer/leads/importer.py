"""Lead-list import: a CSV file in, leads (phones, contacts, raw row, an
`imported` event) out, and a report a manager can act on.

A million-row list must neither stall the floor nor half-land. So the file is
read as a stream and written in batches, each its own short transaction, as
leads in the internal status `importing`, which nothing shows or dials. When the
last batch is in, one statement makes them all `new`; if anything fails, the
staged leads are removed and the import says why (`failed`). Either every
accepted lead arrives, or none does — without holding SQLite's single write lock
(or a PostgreSQL transaction) for the whole file.

Phones are unique per campaign in the database, staged leads included, so two
imports racing into one campaign cannot create the same household twice: the
later one counts the phone as a duplicate. The same lookup finds a phone an
earlier batch of the file staged, so no set of the file's phones is kept.

Large files are read, checked and normalized in a worker process
(dialer.leads.pipeline) while this one writes the batch before.

A process that dies mid-import (kill -9, a lost machine) runs no clean-up, so
each import records its owner: the host, the kernel's boot id and pid namespace
(what makes a process id mean one process), the process id and that process's
start time (so a reused pid is not taken for the owner). Any process on the same
host can then tell at once whether the owner still runs: the web workers at
start-up, the scheduler every second, and every new import of the campaign before
it checks duplicates, so a dead import's staged rows never count against it. An
owner on another host is judged by its heartbeat (STALE_AFTER).
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import threading
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session
from sqlmodel import col

from dialer.campaign.models import Campaign
from dialer.clock import wall_now
from dialer.db import Bulk, Database, RawSql, is_postgres
from dialer.errors import NotFound
from dialer.leads import lifecycle
from dialer.leads.csvfile import LeadFile, open_lead_file
from dialer.leads.history_sql import INSERT_EVENT, event_rows
from dialer.leads.import_sql import (
    ANALYZE_PHONES,
    DELETE_LOST_LEADS,
    DELETE_LOST_PHONES,
    HELD_PHONES,
    INSERT_CONTACTS,
    INSERT_LEADS,
    INSERT_PHONES,
    INSERT_PHONES_UNLESS_TAKEN,
    INSERT_ROW_ERRORS,
    NEW_LEAD_IDS,
    PHONE_COLUMNS,
    TOP_LEAD_ID,
)
from dialer.leads.models import (
    Contact,
    Event,
    ImportStatus,
    Lead,
    LeadImport,
    Phone,
    RowErrorKind,
)
from dialer.leads.phonebook import listed_raw
from dialer.leads.pipeline import WorkerBatches, can_start_worker
from dialer.leads.prepare import (
    FIELD_COLUMNS,
    Accepted,
    PreparedBatch,
    PrepareSpec,
    prepare_batches,
)
from dialer.sql import insert_rows

# Rows per batch: per transaction, and per message from the worker process. On
# SQLite a batch holds the write lock while it is written (~0.1 s at this size).
BATCH_ROWS = 5000
# A running import whose heartbeat is older than this has lost its process.
STALE_AFTER = timedelta(minutes=5)

_LEADS: Table = Lead.__table__  # type: ignore[attr-defined]
_PHONES: Table = Phone.__table__  # type: ignore[attr-defined]
_CONTACTS: Table = Contact.__table__  # type: ignore[attr-defined]
_EVENTS: Table = Event.__table__  # type: ignore[attr-defined]

# Column widths of the lead table: an over-long cell is the row's fault,
# reported as such, not a database error that would sink the whole file.
LEAD_MAX_LENGTHS: dict[str, int] = {
    column.name: getattr(column.type, "length", 0)
    for column in _LEADS.columns
    if getattr(column.type, "length", None)
}

# A rejected row as stored: (row number, kind, field, reason, the raw row as JSON).
RowError = tuple[int, str, str | None, str, str]


# --- the job --------------------------------------------------------------------------

Progress = Callable[[LeadImport, float], None]


@dataclass(frozen=True, slots=True)
class ImportSpec:
    """What an import needs besides its file; fixed when the import row is made."""

    import_id: int
    campaign_id: int
    region: str
    default_timezone: str
    actor: str
    now: datetime


def create_import(
    session: Session,
    *,
    campaign: Campaign,
    lead_file: LeadFile,
    filename: str | None,
    actor: str,
    now: datetime,
) -> ImportSpec:
    """The import row, `running` from the start: GET /api/imports/{id} follows it."""
    assert campaign.id is not None
    lead_import = LeadImport(
        campaign_id=campaign.id,
        status=ImportStatus.running,
        filename=filename,
        encoding=lead_file.encoding,
        delimiter=lead_file.delimiter,
        size_bytes=lead_file.size,
        bytes_read=0,
        created_by=actor,
        created_at=now,
        heartbeat_at=wall_now(),
        owner=process_owner(),
    )
    session.add(lead_import)
    session.flush()
    assert lead_import.id is not None
    return ImportSpec(
        import_id=lead_import.id,
        campaign_id=campaign.id,
        region=campaign.default_region,
        default_timezone=campaign.timezone,
        actor=actor,
        now=now,
    )


class ImportJob:
    """One import from its opened file to `done` (or `failed`, with nothing left).

    `in_worker`: rows are prepared (dialer.leads.prepare) in a worker process
    while this one writes (dialer.leads.pipeline), for large files; small ones are
    prepared here, where starting a process would cost more than it saves."""

    def __init__(
        self,
        db: Database,
        *,
        spec: ImportSpec,
        lead_file: LeadFile,
        progress: Progress | None,
        in_worker: bool = False,
    ) -> None:
        self.db = db
        self.spec = spec
        self.file = lead_file
        self.progress = progress
        self.in_worker = in_worker and can_start_worker()
        self.zones: set[str] = set()
        self.counts = {"rows": 0, "accepted": 0, "duplicates": 0, "invalid": 0, "suppressed": 0}
        self._bulk: Bulk | None = None

    def run(self) -> None:
        try:
            with contextlib.ExitStack() as stack:
                batches = self._batches(stack)
                self._bulk = stack.enter_context(self.db.bulk())
                for number, batch in enumerate(batches, start=1):
                    self._stage(batch)
                    if number & (number - 1) == 0:
                        self._refresh_statistics()
                self._finish()
        except BaseException as exc:
            fail_import(self.db, import_id=self.spec.import_id, reason=_reason(exc))
            raise
        finally:
            self._bulk = None
            self.file.close()

    def _batches(self, stack: contextlib.ExitStack) -> Iterator[PreparedBatch]:
        spec = self.spec
        prepare = PrepareSpec(
            import_id=spec.import_id,
            region=spec.region,
            default_timezone=spec.default_timezone,
            max_lengths=LEAD_MAX_LENGTHS,
        )
        if not self.in_worker:
            return prepare_batches(self.file, spec=prepare, batch_rows=BATCH_ROWS)
        lead_file = self.file
        return iter(
            stack.enter_context(
                WorkerBatches(
                    path=lead_file.path,
                    detected=(lead_file.encoding, lead_file.delimiter),
                    overrides=lead_file.overrides,
                    spec=prepare,
                    batch_rows=BATCH_ROWS,
                )
            )
        )

    @property
    def bulk(self) -> Bulk:
        assert self._bulk is not None, "only while the job runs"
        return self._bulk

    def _stage(self, batch: PreparedBatch) -> None:
        spec = self.spec
        errors: list[RowError] = [
            (row, RowErrorKind.invalid.value, field_name, reason, raw)
            for row, field_name, reason, raw in batch.invalid
        ]
        with self.bulk.work() as work:
            raw_sql = work.raw
            numbers = {n for candidate in batch.accepted for n in candidate[1]}
            # Phones of earlier batches of this file are staged leads by now, so
            # the campaign's phones include them: only this batch's are kept here.
            held = set(raw_sql.column_in(HELD_PHONES, numbers, (spec.campaign_id,)))
            on_dnc = listed_raw(raw_sql, phones=numbers)
            accepted, refused = screen(batch.accepted, held=held, on_dnc=on_dnc)
            errors.extend(refused)
            lost = self._insert(raw_sql, accepted)
            for candidate in lost:
                errors.append(
                    (
                        candidate[0],
                        RowErrorKind.duplicate.value,
                        "phone",
                        "imported into this campaign by a concurrent import",
                        candidate[2][-1],
                    )
                )
            _insert_row_errors(raw_sql, import_id=spec.import_id, errors=errors)
            self.counts["rows"] += batch.rows
            self.counts["accepted"] += len(accepted) - len(lost)
            for error in errors:
                self.counts[_COUNTER_OF_KIND[error[1]]] += 1
            lead_import = work.session.get(LeadImport, spec.import_id)
            assert lead_import is not None
            if lead_import.status != ImportStatus.running:
                raise ImportAborted(f"import {spec.import_id} is {lead_import.status}")
            for name, value in self.counts.items():
                setattr(lead_import, name, value)
            # A batch (BATCH_ROWS) at a time: how far the rows processed reach.
            lead_import.bytes_read = min(batch.bytes_read, lead_import.size_bytes)
            lead_import.heartbeat_at = wall_now()
        if self.progress is not None:
            self.progress(lead_import, batch.bytes_read / max(self.file.size, 1))

    def _insert(self, raw: RawSql, accepted: list[Accepted]) -> list[Accepted]:
        """Stage the accepted leads; returns those whose phone a concurrent import
        took between our check and our insert (their staged rows are removed).

        Hand-written bulk SQL (executemany on SQLite, COPY on PostgreSQL): at a
        million rows the ORM's per-row work would be most of the import."""
        if not accepted:
            return []
        spec = self.spec
        at = raw.instant(spec.now)
        ids = _new_lead_ids(raw, len(accepted))
        fixed = (
            spec.campaign_id,
            spec.import_id,
            lifecycle.STAGED_STATUS,
            0,
            0,
            0,
            "{}",
            at,
            at,
        )
        lead_rows = [(i, *fixed, *c[2]) for i, c in zip(ids, accepted, strict=True)]
        phone_rows = [
            (i, spec.campaign_id, number, position, False)
            for i, c in zip(ids, accepted, strict=True)
            for position, number in enumerate(c[1])
        ]
        lost: set[int] = set()
        insert_rows(raw, INSERT_LEADS, lead_rows)
        if is_postgres(raw):
            # The phones were checked free in this transaction; only a concurrent
            # import can have taken one since. COPY them, and only when it fails
            # on one, insert them skipping the taken ones.
            if not raw.copy_unless_duplicate(INSERT_PHONES.table, PHONE_COLUMNS, phone_rows):
                inserted = [
                    row[0]
                    for row in raw.rows(
                        INSERT_PHONES_UNLESS_TAKEN,
                        tuple(list(column) for column in zip(*phone_rows, strict=True)),
                    )
                ]
                lost = _incomplete(phone_rows, inserted)
        else:
            # One writer at a time on SQLite: the phones were checked free in this
            # very transaction, so none can have been taken since.
            raw.many(INSERT_PHONES, phone_rows)
        if lost:
            # PostgreSQL only: SQLite has no concurrent writer to lose a phone to.
            raw.run(DELETE_LOST_PHONES, (sorted(lost),))
            raw.run(DELETE_LOST_LEADS, (sorted(lost),))
        kept = [(i, c) for i, c in zip(ids, accepted, strict=True) if i not in lost]
        insert_rows(raw, INSERT_CONTACTS, [(i, c[3], "registrant") for i, c in kept if c[3]])
        insert_rows(
            raw,
            INSERT_EVENT,
            event_rows(
                raw,
                at=spec.now,
                kind="imported",
                actor=spec.actor,
                details=((i, c[4]) for i, c in kept),
            ),
        )
        self.zones.update(c[2][_TIMEZONE] for _i, c in kept)
        return [c for i, c in zip(ids, accepted, strict=True) if i in lost]

    def _refresh_statistics(self) -> None:
        """PostgreSQL plans the duplicate check from table statistics; a campaign
        growing from nothing to a million phones in one import would be planned
        as a tiny table (sequential scans, each batch slower than the last).
        Re-analyze phones as they double (the import queries no other table);
        SQLite needs no such help."""
        with self.bulk.work() as work:
            if is_postgres(work.raw):
                work.raw.run(ANALYZE_PHONES)

    def _finish(self) -> None:
        spec = self.spec
        with self.bulk.work() as work:
            session = work.session
            lead_import = session.get(LeadImport, spec.import_id)
            assert lead_import is not None
            if lead_import.status != ImportStatus.running:
                raise ImportAborted(f"import {spec.import_id} is {lead_import.status}")
            lifecycle.activate_import(session, import_id=spec.import_id)
            campaign = session.get(Campaign, spec.campaign_id)
            assert campaign is not None
            zones = set(campaign.lead_timezones) | self.zones
            if zones != set(campaign.lead_timezones):
                campaign.lead_timezones = sorted(zones)
                campaign.version += 1
            lead_import.status = ImportStatus.done
            lead_import.bytes_read = lead_import.size_bytes
            lead_import.finished_at = spec.now
            lead_import.heartbeat_at = wall_now()
        if self.progress is not None:
            self.progress(lead_import, 1.0)


def screen(
    candidates: list[Accepted], *, held: set[str], on_dnc: Collection[str]
) -> tuple[list[Accepted], list[RowError]]:
    """Valid rows, in file order, kept or refused: a phone `held` by a lead of the
    campaign (or by an earlier row: `held` grows with each row kept) makes the
    row a duplicate, a phone on the do-not-call list a suppressed one."""
    accepted: list[Accepted] = []
    errors: list[RowError] = []
    for candidate in candidates:
        phones = candidate[1]
        dup = next((n for n in phones if n in held), None)
        if dup is not None:
            errors.append(
                (
                    candidate[0],
                    RowErrorKind.duplicate.value,
                    "phone",
                    f"{dup} is already a lead of this campaign",
                    candidate[2][-1],
                )
            )
            continue
        blocked = next((n for n in phones if n in on_dnc), None)
        if blocked is not None:
            errors.append(
                (
                    candidate[0],
                    RowErrorKind.suppressed.value,
                    "phone",
                    f"{blocked} is on the do-not-call list",
                    candidate[2][-1],
                )
            )
            continue
        held.update(phones)
        accepted.append(candidate)
    return accepted, errors


_COUNTER_OF_KIND = {"invalid": "invalid", "duplicate": "duplicates", "suppressed": "suppressed"}
_TIMEZONE = FIELD_COLUMNS.index("timezone")


class ImportAborted(Exception):
    """The import row left `running` under us (failed by the stale-import sweep)."""


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text[:500]


def _incomplete(phone_rows: list[tuple[Any, ...]], inserted: list[int]) -> set[int]:
    """Leads not all of whose phones went in."""
    expected: dict[int, int] = {}
    for row in phone_rows:
        expected[row[0]] = expected.get(row[0], 0) + 1
    got: dict[int, int] = {}
    for lead_id in inserted:
        got[lead_id] = got.get(lead_id, 0) + 1
    return {i for i, n in expected.items() if got.get(i, 0) != n}


def _insert_row_errors(raw: RawSql, *, import_id: int, errors: list[RowError]) -> None:
    if not errors:
        return
    insert_rows(raw, INSERT_ROW_ERRORS, [(import_id, *error) for error in errors])


def _new_lead_ids(raw: RawSql, count: int) -> list[int]:
    if is_postgres(raw):
        return [int(row[0]) for row in raw.rows(NEW_LEAD_IDS, (count,))]
    (top,) = raw.rows(TOP_LEAD_ID)[0]
    return list(range(int(top) + 1, int(top) + 1 + count))


def fail_import(db: Database, *, import_id: int, reason: str) -> None:
    """Remove what the import staged and say why, in batches so a large failed
    import does not hold the write lock for long."""
    while True:
        with db.write() as session:
            staged = lifecycle.staged_lead_ids(session, import_id=import_id, limit=5000)
            if not staged:
                lead_import = session.get(LeadImport, import_id)
                if lead_import is not None and lead_import.status == ImportStatus.running:
                    lead_import.status = ImportStatus.failed
                    lead_import.error = reason
                    lead_import.heartbeat_at = wall_now()
                return
            lifecycle.discard_staged(session, lead_ids=staged)


def fail_stale_imports(db: Database, *, now: datetime, campaign_id: int | None = None) -> int:
    """Running imports whose process died are failed and their staged leads
    removed (all of them, or one campaign's): a restart loses nothing and leaves
    nothing half. Dead: an owner on this host that no longer runs, or no
    heartbeat for STALE_AFTER (an owner elsewhere, or one that hangs)."""
    query = select(col(LeadImport.id), col(LeadImport.owner), col(LeadImport.heartbeat_at)).where(
        col(LeadImport.status) == ImportStatus.running
    )
    if campaign_id is not None:
        query = query.where(col(LeadImport.campaign_id) == campaign_id)
    with db.read() as session:
        running = list(session.execute(query))
    failed = 0
    for import_id, owner, heartbeat_at in running:
        assert import_id is not None
        if owner is not None and owner_alive(owner) is False:
            reason = f"the importing process stopped (it was {owner})"
        elif heartbeat_at is None or heartbeat_at < now - STALE_AFTER:
            reason = f"the importing process stopped: no progress for {STALE_AFTER}"
        else:
            continue
        fail_import(db, import_id=import_id, reason=reason)
        failed += 1
    return failed


# --- who runs an import ---------------------------------------------------------------


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as handle:
            return handle.read().strip()
    except OSError:
        return None


def _node() -> str:
    """Where process ids mean the same processes: this host, this boot, this pid
    namespace (containers on one host share the boot id, not the namespace)."""
    boot = _read("/proc/sys/kernel/random/boot_id") or "?"
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = "?"
    return f"{socket.gethostname()}:{boot}:{namespace}"


def _started(pid: int) -> str | None:
    """A process's start time (clock ticks since boot) from /proc, or None when
    no such process runs; "?" where /proc is not there to ask."""
    if not os.path.isdir("/proc/self"):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return "?"
    stat = _read(f"/proc/{pid}/stat")
    if stat is None:
        return None
    # The command name (in parentheses) may hold spaces: fields follow its ")".
    fields = stat.rsplit(")", 1)[-1].split()
    if fields[0] in ("Z", "X"):
        return None  # dead, not yet reaped
    return fields[19]


def process_owner(pid: int | None = None) -> str:
    """This process (or `pid`, a running one) as an import's owner."""
    pid = os.getpid() if pid is None else pid
    return f"{_node()}/{pid}/{_started(pid) or '?'}"


def owner_alive(owner: str) -> bool | None:
    """Whether the owner of an import still runs: None when it cannot be told
    from here (another host or container)."""
    head, _, started = owner.rpartition("/")
    node, _, pid = head.rpartition("/")
    if node != _node() or not pid.isdigit():
        return None
    now_started = _started(int(pid))
    if now_started is None:
        return False
    return started == "?" or now_started == started


# --- running imports: inline, in the background, from the CLI -----------------------


class ImportRunner:
    """Background imports of this process. Large files return `running` at once
    and finish here; `wait_idle` lets tests and the CLI join them."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="import")
        self._futures: set[Future[None]] = set()
        self._lock = threading.Lock()

    def submit(self, job: ImportJob, *, cleanup: Path | None) -> None:
        def run() -> None:
            try:
                job.run()
            finally:
                if cleanup is not None:
                    cleanup.unlink(missing_ok=True)

        future = self._pool.submit(run)
        with self._lock:
            self._futures.add(future)
        future.add_done_callback(self._forget)

    def _forget(self, future: Future[None]) -> None:
        with self._lock:
            self._futures.discard(future)

    def wait_idle(self, *, timeout: float = 60) -> None:
        with self._lock:
            pending = list(self._futures)
        for future in pending:
            # A failed import is recorded on its row; waiting only needs it over.
            with contextlib.suppress(Exception):
                future.result(timeout=timeout)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def start_import(
    db: Database,
    *,
    runner: ImportRunner | None,
    campaign_id: int,
    path: Path,
    filename: str | None,
    actor: str,
    now: datetime,
    mapping: dict[str, str] | None,
    sync_limit_bytes: int,
    progress: Progress | None = None,
    remove_file: bool = False,
) -> int:
    """Refuse a bad file before anything is written, make the import row, then run
    the job inline (small files, or no runner) or in the background. Returns the
    import's id."""
    try:
        lead_file = open_lead_file(path, overrides=mapping)
        # Imports of this campaign that died are cleared first: their staged
        # phones would otherwise count as this file's duplicates.
        fail_stale_imports(db, now=wall_now(), campaign_id=campaign_id)
    except BaseException:
        if remove_file:
            path.unlink(missing_ok=True)
        raise
    try:
        with db.write() as session:
            campaign = session.get(Campaign, campaign_id)
            if campaign is None:
                raise NotFound(f"campaign {campaign_id} does not exist", code="campaign_not_found")
            spec = create_import(
                session,
                campaign=campaign,
                lead_file=lead_file,
                filename=filename,
                actor=actor,
                now=now,
            )
    except BaseException:
        lead_file.close()
        if remove_file:
            path.unlink(missing_ok=True)
        raise
    # Large files are prepared in a worker process beside this one (two cores);
    # for small ones, starting a process would cost more than it saves.
    large = lead_file.size > sync_limit_bytes
    job = ImportJob(db, spec=spec, lead_file=lead_file, progress=progress, in_worker=large)
    if runner is not None and large:
        runner.submit(job, cleanup=path if remove_file else None)
        return spec.import_id
    try:
        job.run()
    finally:
        if remove_file:
            path.unlink(missing_ok=True)
    return spec.import_id


def import_bytes(
    db: Database,
    *,
    campaign_id: int,
    data: bytes,
    filename: str | None,
    actor: str,
    now: datetime,
    mapping: dict[str, str] | None = None,
) -> int:
    """Inline import of bytes in memory (demo data, tests), prepared in this
    process: what fits in memory is small enough."""
    fd, name = tempfile.mkstemp(prefix="dialer-import-", suffix=".csv")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return start_import(
        db,
        runner=None,
        campaign_id=campaign_id,
        path=Path(name),
        filename=filename,
        actor=actor,
        now=now,
        mapping=mapping,
        sync_limit_bytes=len(data),
        remove_file=True,
    )
