"""Every table, imported once so SQLModel.metadata (and Alembic) sees them all."""

from dialer.agents.models import AccountEvent, Agent, AgentCampaign, AgentEvent, Claim
from dialer.calls.models import Call, InboundCall
from dialer.campaign.models import Campaign
from dialer.conversions.models import Conversion, CreditEntry
from dialer.dnc.models import DncEntry
from dialer.leads.models import Contact, Event, ImportRowError, Lead, LeadImport, Phone
from dialer.promises.models import Promise
from dialer.system import ClockState, SchedulerLease
from dialer.telephony.models import DialingBlock, DialPacing, SimOutcome

__all__ = [
    "AccountEvent",
    "Agent",
    "AgentCampaign",
    "AgentEvent",
    "Call",
    "Campaign",
    "Claim",
    "ClockState",
    "Contact",
    "Conversion",
    "CreditEntry",
    "DialPacing",
    "DialingBlock",
    "DncEntry",
    "Event",
    "ImportRowError",
    "InboundCall",
    "Lead",
    "LeadImport",
    "Phone",
    "Promise",
    "SchedulerLease",
    "SimOutcome",
]
