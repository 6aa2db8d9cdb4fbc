"""Domain errors. Services raise these; one handler in app.py renders them as
`{"detail", "code"}` with the status each class names, so no service imports fastapi."""

from __future__ import annotations

from typing import Any, ClassVar


class DialerError(Exception):
    status: int = 400
    code: str = "bad_request"
    headers: ClassVar[dict[str, str] | None] = None

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"detail": self.detail, "code": self.code, **self.extra}

    def response_headers(self) -> dict[str, str] | None:
        """The answer's headers: the class's, or one instance's own (a
        `Retry-After` that depends on when the request came)."""
        return self.headers

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword arguments survive pickling (an import's worker process reports
        # a refused file with its code): Exception's default keeps `args` only.
        return (_rebuild, (type(self), self.detail, self.code, self.extra))


def _rebuild(cls: type[DialerError], detail: str, code: str, extra: dict[str, Any]) -> DialerError:
    return cls(detail, code=code, **extra)


class BadInput(DialerError):
    status = 400
    code = "bad_input"


class Unauthorized(DialerError):
    status = 401
    code = "unauthorized"
    headers: ClassVar[dict[str, str] | None] = {"WWW-Authenticate": "Bearer"}


class Forbidden(DialerError):
    status = 403
    code = "forbidden"


class NotFound(DialerError):
    status = 404
    code = "not_found"


class Conflict(DialerError):
    status = 409
    code = "conflict"


class TooLarge(DialerError):
    status = 413
    code = "too_large"


class UnsupportedMedia(DialerError):
    status = 415
    code = "unsupported_media_type"


class Locked(DialerError):
    status = 423
    code = "locked"


class TooManyRequests(DialerError):
    """Come back later: `retry_after` seconds, in the body and as `Retry-After`."""

    status = 429
    code = "too_many_requests"

    def response_headers(self) -> dict[str, str] | None:
        retry_after = self.extra.get("retry_after")
        return None if retry_after is None else {"Retry-After": str(retry_after)}


class Invalid(DialerError):
    status = 422
    code = "validation_error"


class NotClaimed(Conflict):
    code = "not_claimed"


class CallLive(Conflict):
    code = "call_live"


class OnDoNotCallList(Conflict):
    code = "dnc"


class OutsideCallingHours(Conflict):
    code = "outside_calling_hours"


class AlreadyDispositioned(Conflict):
    code = "already_dispositioned"
