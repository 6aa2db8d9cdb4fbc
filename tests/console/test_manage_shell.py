"""The manager console's shell in a real browser: window.Manage as the contract
between the pages fixes it (other pages' scripts rely on exactly these names),
the campaign picker's memory, time formatting at the campaign's offset, the DOM
builder writing data as text, and signing out."""

from __future__ import annotations

from typing import Any

from conftest import STEP_MS, Service, manager, sign_in_manager
from playwright.sync_api import expect

expect.set_options(timeout=STEP_MS)

FUNCTIONS = [
    "t", "api", "upload", "download", "fmtTime", "fmtDate", "fmtDuration", "errorText",
    "fieldErrors", "campaigns", "campaignPicker", "el", "notice", "actorName",
]  # fmt: skip


def test_the_manage_module_and_the_campaign_picker(service: Service, browser: Any) -> None:
    first = service.campaign(name="Kanto")
    second = service.campaign(name="Kansai")
    manager(service)
    page = browser.new_page()
    sign_in_manager(page, service)
    page.goto(f"{service.url}/manage/campaigns")
    me = page.evaluate("async () => (await Manage.ready).name")
    assert me == "tanaka"
    kinds = page.evaluate(f"() => {FUNCTIONS}.map((n) => typeof Manage[n])")
    assert kinds == ["function"] * len(FUNCTIONS)
    assert page.evaluate("() => Manage.cfg.page") == "campaigns"
    # Who did it: the API's name, else the listed account's, else role and id.
    assert page.evaluate(
        "() => [Manage.actorName('manager:3', 'Suzuki'),"
        " Manage.actorName('agent:7', null, new Map([[7, 'Sato']])),"
        " Manage.actorName('manager:3', null), Manage.actorName('system', null)]"
    ) == ["Suzuki", "Sato", "manager #3", "the system"]
    assert page.evaluate("() => Manage.me.role") == "manager"
    assert page.evaluate("() => Manage.ready instanceof Promise")
    assert (
        page.evaluate("() => Manage.t('manage.l.column_for', {header: 'TEL'})") == "Column for TEL"
    )
    # Instants at the offset the API wrote them with (the campaign's zone).
    assert page.evaluate("() => Manage.fmtTime('2026-12-01T10:05:00+09:00')") == "1 Dec 2026, 10:05"
    assert page.evaluate("() => Manage.fmtTime('2026-12-01T01:05:00Z', 'Asia/Tokyo')") == (
        "1 Dec 2026, 10:05"
    )
    assert page.evaluate("() => Manage.fmtDate('2026-12-01')") == "1 Dec 2026"
    assert page.evaluate("() => [Manage.fmtDuration(59), Manage.fmtDuration(3725)]") == [
        "0:59",
        "1:02:05",
    ]
    assert (
        page.evaluate("() => Manage.el('b', {text: '<i>x</i>'}).innerHTML")
        == "&lt;i&gt;x&lt;/i&gt;"
    )
    # An API refusal in words, and a write carries the CSRF token.
    status = page.evaluate(
        "async (id) => (await Manage.api('PATCH', `/api/campaigns/${id}`,"
        " {wrapup_seconds: 7})).status",
        first["id"],
    )
    assert status == 200
    text = page.evaluate(
        "async () => Manage.errorText(await Manage.api('POST', '/api/campaigns', {name: 'Kanto'}))"
    )
    assert text == "A campaign of that name exists already."

    # The picker: ?campaign_id= first, remembered, then the remembered one.
    page.goto(f"{service.url}/manage/conversions?campaign_id={second['id']}")
    picker = page.get_by_label("Campaign", exact=True)
    expect(picker).to_have_value(str(second["id"]))
    page.goto(f"{service.url}/manage/conversions")
    expect(picker).to_have_value(str(second["id"]))
    picker.select_option(str(first["id"]))
    page.goto(f"{service.url}/manage/conversions")
    expect(picker).to_have_value(str(first["id"]))
    assert page.evaluate("() => localStorage.getItem('manage.campaign_id')") == str(first["id"])

    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_url(f"{service.url}/login?lang=en")
    page.goto(f"{service.url}/manage/people")
    assert page.url == f"{service.url}/login"
