"""Group commit of status callbacks: each request gets its own answer after the
batch's commit; a request whose client went away does not stop the writer."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dialer.db import Database, Work
from dialer.telephony.batching import CallbackBatcher


@pytest.mark.serial
def test_answers_each_request_and_survives_a_cancelled_one(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'b.db'}")
    seen: list[str | None] = []

    def apply(work: Work, *, call_param: str | None, params: Any, now: datetime) -> bool | None:
        seen.append(call_param)
        if call_param == "hold":
            time.sleep(0.3)  # what arrives meanwhile is the next batch, together
            return True
        if call_param == "boom":
            raise RuntimeError("a bug in one callback")
        return None if call_param == "slow-path" else call_param == "changed"

    batcher = CallbackBatcher(db, apply=apply, now_in_work=lambda _w: datetime.now(UTC))
    gone = batcher.submit(call_param="changed", params={})
    gone.cancel()  # the client disconnected
    answers = [batcher.submit(call_param=p, params={}) for p in ("changed", "same", "slow-path")]
    assert [f.result(timeout=5) for f in answers] == [True, False, None]
    # A failing batch is rolled back whole: every request is told to take the full path.
    held = batcher.submit(call_param="hold", params={})
    time.sleep(0.05)
    failing = [batcher.submit(call_param=p, params={}) for p in ("changed", "boom")]
    assert held.result(timeout=5) is True
    assert [f.result(timeout=5) for f in failing] == [None, None]
    assert batcher.submit(call_param="changed", params={}).result(timeout=5) is True
    batcher.close()
    db.dispose()
