"""A call as answers show it."""

from __future__ import annotations

from dialer.calls.models import Call
from dialer.calls.schemas import CallOut
from dialer.views.zones import zone_for
from dialer.wire import localized


def call_view(call: Call) -> CallOut:
    return localized(CallOut.model_validate(call, from_attributes=True), zone_for(call))
