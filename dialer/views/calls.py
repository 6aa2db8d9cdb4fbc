"""A call as answers show it."""

from __future__ import annotations

from dialer.calls.models import Call
from dialer.calls.schemas import CallOut


def call_view(call: Call) -> CallOut:
    return CallOut.model_validate(call, from_attributes=True)
