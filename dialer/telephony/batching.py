"""Group commit for status callbacks.

Every call sends four or five progress callbacks, all at once on a busy floor.
Each in its own transaction, a worker's threads queue on the database's write
lock (SQLite has one) and pay a commit apiece. Here one writer thread per
process applies whatever callbacks are waiting, up to a batch, in one
transaction: each request still gets its own answer, only after the commit that
made it durable. Callbacks the fast path cannot settle (an attempt adopting its
CallSid, the unanswered end of a lead with a promise) come back as None and
take the full path, each in a transaction of its own."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, InvalidStateError
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime

from dialer.db import Database, Work

log = logging.getLogger("dialer.webhooks")

MAX_BATCH = 64


@dataclass(frozen=True, slots=True)
class _Item:
    call_param: str | None
    params: Mapping[str, str]
    future: Future[bool | None]


FastPath = Callable[..., "bool | None"]


class CallbackBatcher:
    def __init__(
        self,
        db: Database,
        *,
        apply: FastPath,
        now_in_work: Callable[[Work], datetime],
    ) -> None:
        self.db = db
        self.apply = apply
        self.now_in_work = now_in_work
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(self, *, call_param: str | None, params: Mapping[str, str]) -> Future[bool | None]:
        future: Future[bool | None] = Future()
        self._queue.put(_Item(call_param, params, future))
        if self._thread is None:
            with self._start_lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="callback-batcher", daemon=True
                    )
                    self._thread.start()
        return future

    def close(self) -> None:
        """Stop the writer once what is queued has been applied."""
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._apply(batch)
            if stop:
                return

    def _apply(self, batch: list[_Item]) -> None:
        try:
            with self.db.work() as work:
                now = self.now_in_work(work)
                results = [
                    self.apply(work, call_param=item.call_param, params=item.params, now=now)
                    for item in batch
                ]
        except Exception as exc:
            # The whole batch was rolled back: each request takes the full path
            # alone (and a bad one fails alone there).
            log.warning("callback batch of %d rolled back: %r", len(batch), exc)
            for item in batch:
                _settle(item.future, None)
            return
        for item, result in zip(batch, results, strict=True):
            _settle(item.future, result)


def _settle(future: Future[bool | None], result: bool | None) -> None:
    """A request whose client went away has its future cancelled; its callback is
    applied all the same (Twilio retries, and a repeat changes nothing), and the
    writer thread must not die over it."""
    with suppress(InvalidStateError):
        future.set_result(result)
