"""Logs: secrets and phone numbers masked on every handler, JSON lines on request,
one access line per request with its request id, APScheduler's skipped-run
warning held to one line a minute."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from dialer import logs
from dialer.settings import LogFormat


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        # phone numbers: every digit but the last four
        ("calling +819012345678 now", "calling +********5678 now"),
        ("calling 090-1234-5678 now", "calling ***-****-5678 now"),
        ("(03) 1234-5678", "(**) ****-5678"),
        ("09012345678,0312345678", "*******5678,******5678"),
        ("+1 415 555 0100 and +44 20 7946 0958", "+* *** *** 0100 and +** ** **** 0958"),
        ("tel:+81-3-1234-5678", "tel:+**-*-****-5678"),
        # secrets
        ("GET /api/agents/3/events?token=abc.def&x=1", "GET /api/agents/3/events?token=***&x=1"),
        ("?ticket=st1.3.1.1764550000.Zm9v", "?ticket=***"),
        ("access_token=xyz", "access_token=***"),
        ("Authorization: Bearer s3cr3t-T0ken_", "Authorization: Bearer ***"),
        # what is not a phone number stays as it was
        ("at 2026-12-01 10:00:00+09:00", "at 2026-12-01 10:00:00+09:00"),
        ("2026-12-01T01:00:25+00:00", "2026-12-01T01:00:25+00:00"),
        ("sid CA0123456789abcdef0123456789abcdef", "sid CA0123456789abcdef0123456789abcdef"),
        ("lead 9223372036854775807", "lead 9223372036854775807"),
        ("took 12.5ms, 1234 rows", "took 12.5ms, 1234 rows"),
        ("short 03-1234", "short 03-1234"),
    ],
)
def test_mask(text: str, shown: str) -> None:
    assert logs.mask(text) == shown


def test_masked_query_hides_only_the_secret_parameters() -> None:
    assert logs.masked_query("") == ""
    assert logs.masked_query("ticket=a.b&status=scheduled&token=x") == (
        "ticket=***&status=scheduled&token=***"
    )


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The root logger with the handler dialer.logs configures, into a buffer."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(logs.MaskFilter())
    handler.setFormatter(logs.json_formatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def _lines(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_every_logger_is_masked_in_message_arguments_and_traceback(captured: io.StringIO) -> None:
    log = logging.getLogger("some.library")
    log.warning("dialing %s for lead %d", "+819012345678", 7)
    log.info("customer 03-1234-5678 asked for /x?token=%s", "tok-123")
    try:
        raise ValueError("bad number 090-1234-5678")
    except ValueError:
        log.exception("failed for %s", "090-1111-2222")
    text = captured.getvalue()
    for secret in ("819012345678", "03-1234", "tok-123", "090-1234", "090-1111"):
        assert secret not in text
    first, second, third = _lines(captured)
    assert first["message"] == "dialing +********5678 for lead 7"
    assert first["level"] == "WARNING" and first["logger"] == "some.library"
    assert second["message"] == "customer **-****-5678 asked for /x?token=***"
    assert third["message"] == "failed for ***-****-2222"
    assert "ValueError: bad number ***-****-5678" in str(third["exc_info"])
    # The filter's bookkeeping is no field of the line.
    assert set(first) == {"time", "level", "logger", "message", "request_id"}


def test_text_format_is_one_line_with_the_request_id_when_there_is_one() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(logs.MaskFilter())
    config = logs.config_dict(log_format=LogFormat.text)
    handler.setFormatter(logging.Formatter(config["formatters"]["default"]["format"]))
    log = logging.getLogger("dialer.test.text")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("outside")
        token = logs.request_id_var.set("rid-1")
        log.warning("inside +819012345678")
        logs.request_id_var.reset(token)
    finally:
        log.removeHandler(handler)
        log.propagate = True
    outside, inside = out.getvalue().splitlines()
    assert outside.endswith("WARNING dialer.test.text outside")
    assert inside.endswith("WARNING dialer.test.text inside +********5678 request_id=rid-1")


def test_configure_installs_the_filter_on_every_handler() -> None:
    config = logs.config_dict(log_format=LogFormat.json)
    for handler in config["handlers"].values():
        assert handler["filters"] == ["mask"]
    assert config["loggers"]["uvicorn.access"]["propagate"] is False


def test_request_id_and_one_access_line_per_request(
    client: TestClient, captured: io.StringIO
) -> None:
    r = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.01"})
    assert r.headers["x-request-id"] == "lb-7f3a.01"
    for insane in ("x" * 129, "a b", "<script>", ""):
        r = client.get("/healthz", headers={"X-Request-ID": insane})
        made = r.headers["x-request-id"]
        assert made != insane and len(made) == 32, made
    r = client.get("/api/agents/1/events?token=secret-token-1&x=2")
    assert r.status_code == 400
    generated = r.headers["x-request-id"]
    access = [line for line in _lines(captured) if line["logger"] == "dialer.access"]
    assert len(access) == 6
    assert access[0]["request_id"] == "lb-7f3a.01"
    assert access[0]["method"] == "GET" and access[0]["status"] == 200
    assert access[0]["path"] == "/healthz"
    assert isinstance(access[0]["duration_ms"], float)
    last = access[-1]
    assert last["request_id"] == generated and last["status"] == 400
    assert last["path"] == "/api/agents/1/events?token=***&x=2"
    assert "secret-token-1" not in captured.getvalue()


def test_repeat_limit_lets_one_line_per_job_a_minute_through() -> None:
    now = [0.0]
    limit = logs.RepeatLimit("skipped:", every=60, clock=lambda: now[0])

    def record(job: str) -> logging.LogRecord:
        return logging.LogRecord("aps", logging.WARNING, "", 0, "skipped: %s (%d)", (job, 1), None)

    passed = []
    for second in range(0, 130):
        now[0] = float(second)
        for job in ("a", "b"):
            rec = record(job)
            if limit.filter(rec):
                passed.append((second, rec.getMessage()))
    assert passed == [
        (0, "skipped: a (1)"),
        (0, "skipped: b (1)"),
        (60, "skipped: a (1) (59 more like it held back)"),
        (60, "skipped: b (1) (59 more like it held back)"),
        (120, "skipped: a (1) (59 more like it held back)"),
        (120, "skipped: b (1) (59 more like it held back)"),
    ]
    other = logging.LogRecord("aps", logging.WARNING, "", 0, "something else", None, None)
    assert limit.filter(other)


def test_repeat_limit_keys_a_job_by_its_id_not_its_text() -> None:
    # APScheduler logs the Job itself, whose text carries its next run time: new
    # on every run, so a key of the text would let every line through.
    class Job:
        def __init__(self, job_id: str, run: int) -> None:
            self.id = job_id
            self.run = run

        def __str__(self) -> str:
            return f"tick (next run at: {self.run})"

    now = [0.0]
    limit = logs.RepeatLimit("skipped:", every=60, clock=lambda: now[0])
    passed = 0
    for run in range(50):
        now[0] = run * 0.25
        rec = logging.LogRecord(
            "aps", logging.WARNING, "", 0, "skipped: %s (%d)", (Job("due-work", run), 1), None
        )
        passed += limit.filter(rec)
    assert passed == 1
