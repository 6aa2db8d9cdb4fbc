"""A large lead file prepared in a worker process, pipelined with the writes.

Reading, validating and normalizing rows (dialer.leads.prepare) is most of an
import's CPU; writing them is the rest, and both are Python, so one process can
use one core only. The worker prepares batch N+1 while the importing process
writes batch N: two cores for one import.

The worker is started with `spawn`: a fresh interpreter, safe whatever the
importing process holds (uvicorn's event loop and threads, database connections,
pytest), where `fork` would copy all of it mid-flight. It imports only the
preparing code. Batches come back over a pipe, which holds about one batch: the
worker stays at most a batch or two ahead, so memory does not grow with the file.

The worker never outlives its import: `close()` terminates it (a failed or
aborted import), and a worker whose importing process has died fails its next
send on the broken pipe and exits.
"""

from __future__ import annotations

import gc
import multiprocessing
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType

from dialer.leads.csvfile import open_lead_file
from dialer.leads.prepare import PreparedBatch, PrepareSpec, prepare_batches

_SPAWN = multiprocessing.get_context("spawn")
_STOP_TIMEOUT_S = 5.0


class WorkerFailed(Exception):
    """The worker process ended without finishing the file, or could not start."""


class _Failure:
    """What the worker sends instead of a batch when preparing fails."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


def can_start_worker() -> bool:
    """A daemonic process (some process managers run their workers so) may not
    have children: such a process prepares in-process instead."""
    return not multiprocessing.current_process().daemon


class WorkerBatches:
    """The prepared batches of a file, from a worker process, in order."""

    def __init__(
        self,
        *,
        path: Path,
        detected: tuple[str, str],
        overrides: dict[str, str] | None,
        spec: PrepareSpec,
        batch_rows: int,
    ) -> None:
        receive, send = _SPAWN.Pipe(duplex=False)
        self._receive = receive
        self._finished = False
        self._process = _SPAWN.Process(
            target=_work,
            kwargs={
                "path": path,
                "detected": detected,
                "overrides": overrides,
                "spec": spec,
                "batch_rows": batch_rows,
                "send": send,
            },
            name=f"dialer-import-{spec.import_id}",
            daemon=True,
        )
        try:
            self._process.start()
        except BaseException:
            receive.close()
            raise
        finally:
            # Only the worker writes; with our copy of its end closed, the pipe
            # reports EOF as soon as the worker is gone.
            send.close()

    def __iter__(self) -> Iterator[PreparedBatch]:
        while True:
            try:
                message = self._receive.recv()
            except EOFError:
                self._process.join(_STOP_TIMEOUT_S)
                raise WorkerFailed(
                    f"the import's worker process stopped (exit code {self._process.exitcode})"
                ) from None
            if message is None:
                self._finished = True
                return
            if isinstance(message, _Failure):
                raise message.error
            assert isinstance(message, PreparedBatch)
            yield message

    def close(self) -> None:
        """Stop the worker, finished or not, and reap it."""
        self._receive.close()
        process = self._process
        if self._finished:
            process.join(_STOP_TIMEOUT_S)
        if process.exitcode is None:
            process.terminate()
            process.join(_STOP_TIMEOUT_S)
        if process.exitcode is None:
            process.kill()
            process.join()
        process.close()

    def __enter__(self) -> WorkerBatches:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _work(
    *,
    path: Path,
    detected: tuple[str, str],
    overrides: dict[str, str] | None,
    spec: PrepareSpec,
    batch_rows: int,
    send: Connection,
) -> None:
    """The worker's life: prepare every batch and send it, then None; or send
    the failure. A broken pipe (the importer is gone) ends it too."""
    # What is loaded now lives as long as the process: keep the cyclic collector
    # from traversing it again and again (the batches themselves are acyclic).
    gc.freeze()
    try:
        lead_file = open_lead_file(path, overrides=overrides, detected=detected)
        try:
            for batch in prepare_batches(lead_file, spec=spec, batch_rows=batch_rows):
                send.send(batch)
        finally:
            lead_file.close()
        send.send(None)
    except (BrokenPipeError, EOFError):
        pass  # the importer has gone or given up: nobody to tell
    except BaseException as exc:
        try:
            send.send(_Failure(exc))
        except (BrokenPipeError, EOFError):
            pass
        except Exception:
            # Not picklable: the message still says what went wrong.
            send.send(_Failure(WorkerFailed(f"{type(exc).__name__}: {exc}")))
    finally:
        send.close()
