"""The manager console's pages (`/manage/...`, not in the API schema).

Each page is a shell: the header and nav, the page's language catalog and a small
config (which page, which campaign or lead) for its script, which then reads and
writes everything through the /api routes with the session cookie and
`X-CSRF-Token`, like any other client. Shells read nothing but the session, so
they render fast whatever the size of the campaign. Without a session a page
answers 303 to `/login`; an agent's session gets a 403 page in its language with
a link back to its own console."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from dialer.agents.models import Role
from dialer.campaign.models import DEFAULT_PAUSE_CODES, Campaign
from dialer.campaign.schemas import (
    DEFAULT_CALLING_HOURS,
    AbandonPolicy,
    PromisePolicy,
    RetryPolicy,
)
from dialer.console.routes import Lang, render_page
from dialer.web import page_session

router = APIRouter(include_in_schema=False)

# Ids are 64-bit row ids: anything else is a 422 naming the path parameter.
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]

# The nav, in order: (page, path, catalog key). The floor is the console's home.
NAV = [
    ("floor", "/manage", "manage.nav_floor"),
    ("campaigns", "/manage/campaigns", "manage.nav_campaigns"),
    ("leads", "/manage/leads", "manage.nav_leads"),
    ("conversions", "/manage/conversions", "manage.nav_conversions"),
    ("dnc", "/manage/dnc", "manage.nav_dnc"),
    ("people", "/manage/people", "manage.nav_people"),
    ("reports", "/manage/reports", "manage.nav_reports"),
]


# The fields the campaign form edits that a new campaign takes its defaults for.
_DEFAULTED = (
    "default_region", "timezone", "skip_holidays", "caller_id", "dial_mode",
    "attribution_days", "contract_number_pattern", "machine_detection", "cps", "script",
    "seller_name", "call_reason", "callback_number", "abandon_message", "tts_voice",
    "tts_language", "wrapup_seconds", "retry_timing",
)  # fmt: skip


def campaign_defaults() -> dict[str, Any]:
    """What a campaign created with a name alone gets, read from the model and the
    schemas (the one place they are defined): the new-campaign form starts there."""
    defaults: dict[str, Any] = {name: Campaign.model_fields[name].default for name in _DEFAULTED}
    defaults["calling_hours"] = [dict(rule) for rule in DEFAULT_CALLING_HOURS]
    defaults["retry_policy"] = RetryPolicy().model_dump(mode="json")
    defaults["promise_policy"] = PromisePolicy().model_dump(mode="json")
    defaults["abandon_policy"] = AbandonPolicy().model_dump(mode="json")
    defaults["pause_codes"] = list(DEFAULT_PAUSE_CODES)
    return defaults


def _manage(
    request: Request,
    *,
    template: str,
    page: str,
    lang: str | None,
    campaign_id: int | None = None,
    lead_id: int | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    who = page_session(request)
    if who is None:
        root: str = request.scope.get("root_path", "")
        suffix = f"?lang={lang}" if lang else ""
        return RedirectResponse(f"{root.rstrip('/')}/login{suffix}", status_code=303)
    if who.role != Role.manager:
        return render_page(request, name="manage_forbidden.html", lang=lang, status_code=403)
    config: dict[str, Any] = {"page": page}
    if campaign_id is not None:
        config["campaign_id"] = campaign_id
    if lead_id is not None:
        config["lead_id"] = lead_id
    # The section a sub-page belongs to is the nav entry marked current.
    section = "campaigns" if page.startswith("campaign") or page == "lists" else page
    section = "leads" if page == "lead" else section
    return render_page(
        request,
        name=template,
        lang=lang,
        config=config,
        extra={
            "me": who.name,
            "nav": NAV,
            "page": page,
            "section": section,
            **config,
            **(extra or {}),
        },
    )


@router.get("/manage", response_class=HTMLResponse)
def manage_floor(request: Request, lang: Lang = None) -> Response:
    """The manager console's home: the live floor of a campaign."""
    return _manage(request, template="manage_floor.html", page="floor", lang=lang)


@router.get("/manage/reports", response_class=HTMLResponse)
def manage_reports(request: Request, lang: Lang = None) -> Response:
    """A campaign's reports and charts over a date range."""
    return _manage(request, template="manage_reports.html", page="reports", lang=lang)


@router.get("/manage/campaigns", response_class=HTMLResponse)
def manage_campaigns(request: Request, lang: Lang = None) -> Response:
    """Every campaign, with a link to each and a button to create one."""
    return _manage(request, template="manage_campaigns.html", page="campaigns", lang=lang)


@router.get("/manage/campaigns/new", response_class=HTMLResponse)
def manage_campaign_new(request: Request, lang: Lang = None) -> Response:
    """The campaign form, empty: creates a campaign."""
    return _manage(
        request,
        template="manage_campaign.html",
        page="campaign_new",
        lang=lang,
        extra={"defaults": campaign_defaults()},
    )


@router.get("/manage/campaigns/{campaign_id}", response_class=HTMLResponse)
def manage_campaign(request: Request, campaign_id: Id, lang: Lang = None) -> Response:
    """One campaign: every field, pause/resume, clone, script preview, history."""
    return _manage(
        request,
        template="manage_campaign.html",
        page="campaign",
        lang=lang,
        campaign_id=campaign_id,
    )


@router.get("/manage/campaigns/{campaign_id}/lists", response_class=HTMLResponse)
def manage_lists(request: Request, campaign_id: Id, lang: Lang = None) -> Response:
    """A campaign's lead lists: upload, preview, import, report, past imports."""
    return _manage(
        request, template="manage_lists.html", page="lists", lang=lang, campaign_id=campaign_id
    )


@router.get("/manage/leads", response_class=HTMLResponse)
def manage_leads(request: Request, lang: Lang = None) -> Response:
    """Finding a customer: the lead search."""
    return _manage(request, template="manage_leads.html", page="leads", lang=lang)


@router.get("/manage/leads/{lead_id}", response_class=HTMLResponse)
def manage_lead(request: Request, lead_id: Id, lang: Lang = None) -> Response:
    """One lead: phones, contacts, history, promises, calls, conversions, eligibility."""
    return _manage(request, template="manage_lead.html", page="lead", lang=lang, lead_id=lead_id)


@router.get("/manage/conversions", response_class=HTMLResponse)
def manage_conversions(request: Request, lang: Lang = None) -> Response:
    """Sign-ups: the unmatched ones to match, a CSV import, cooling-off cancels."""
    return _manage(request, template="manage_conversions.html", page="conversions", lang=lang)


@router.get("/manage/dnc", response_class=HTMLResponse)
def manage_dnc(request: Request, lang: Lang = None) -> Response:
    """The do-not-call list: search, add, lift, its history, bulk import."""
    return _manage(request, template="manage_dnc.html", page="dnc", lang=lang)


@router.get("/manage/people", response_class=HTMLResponse)
def manage_people(request: Request, lang: Lang = None) -> Response:
    """Agents and managers: create, assign, passwords, deactivate, tokens."""
    return _manage(request, template="manage_people.html", page="people", lang=lang)
