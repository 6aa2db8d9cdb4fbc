"""Calls as shown."""

from __future__ import annotations

from typing import Any

from dialer.calls.models import Call


def call_out(call: Call) -> dict[str, Any]:
    return {
        "id": call.id,
        "lead_id": call.lead_id,
        "agent_id": call.agent_id,
        "campaign_id": call.campaign_id,
        "to": call.to,
        "status": call.status,
        "answered_by": call.answered_by,
        "provider_sid": call.provider_sid,
        "created_at": call.created_at,
        "answered_at": call.answered_at,
        "ended_at": call.ended_at,
        "duration": call.duration,
        "disposition": call.disposition,
        "note": call.note,
    }
