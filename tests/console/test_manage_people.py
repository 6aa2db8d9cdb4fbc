"""People in a real browser: a new agent with campaigns and a password (who can
then sign in), its token shown once, campaigns reassigned, a password reset,
deactivation and reactivation, a new API token."""

from __future__ import annotations

from typing import Any

import httpx
from conftest import PASSWORD, STEP_MS, Service, manager, sign_in_manager
from playwright.sync_api import expect

expect.set_options(timeout=STEP_MS)


def test_a_new_agent_is_created_assigned_reset_deactivated_and_reactivated(
    service: Service, browser: Any
) -> None:
    first = service.campaign(name="Kanto")
    second = service.campaign(name="Kansai")
    manager(service)
    page = browser.new_page()
    sign_in_manager(page, service)
    page.goto(f"{service.url}/manage/people")
    page.get_by_role("button", name="New person", exact=True).click()
    form = page.get_by_role("form", name="New person")
    form.get_by_label("Name", exact=True).fill("suzuki")
    form.get_by_label("Kanto", exact=True).check()
    form.get_by_label("Endpoint", exact=True).fill("client:suzuki")
    form.get_by_label("Password", exact=True).fill(PASSWORD)
    form.get_by_role("button", name="Create", exact=True).click()
    expect(page.locator("#notice")).to_have_text("suzuki created.")
    token = page.locator("#token-value")
    expect(token).not_to_be_empty()
    shown = token.inner_text()
    people = page.get_by_role("table", name="People")
    row = people.get_by_role("row").filter(has_text="suzuki")
    expect(row).to_contain_text("Kanto")
    agent = next(
        a for a in service.http.get("/api/agents").json()["items"] if a["name"] == "suzuki"
    )
    assert agent["campaign_ids"] == [first["id"]]
    assert agent["has_password"] is True
    # The token shown works, and the password signs in.
    me = httpx.get(
        f"{service.url}/api/agents/{agent['id']}", headers={"Authorization": f"Bearer {shown}"}
    )
    assert me.status_code == 200
    signed = httpx.post(f"{service.url}/api/session", json={"name": "suzuki", "password": PASSWORD})
    assert signed.status_code == 200

    row.get_by_role("button", name="Assign campaigns: suzuki").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Kansai", exact=True).check()
    dialog.get_by_label("Kanto", exact=True).uncheck()
    dialog.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#notice")).to_have_text("Campaigns of suzuki saved.")
    expect(row).to_contain_text("Kansai")
    agent = service.http.get(f"/api/agents/{agent['id']}").json()
    assert agent["campaign_ids"] == [second["id"]]

    row.get_by_role("button", name="Set password: suzuki").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Password", exact=True).fill("short")
    dialog.get_by_role("button", name="Set password", exact=True).click()
    expect(dialog.get_by_label("Password", exact=True)).to_have_attribute("aria-invalid", "true")
    dialog.get_by_label("Password", exact=True).fill("another long password")
    dialog.get_by_role("button", name="Set password", exact=True).click()
    expect(page.locator("#notice")).to_have_text("Password of suzuki set.")

    row.get_by_role("button", name="New API token: suzuki").click()
    expect(token).not_to_have_text(shown)
    assert (
        httpx.get(
            f"{service.url}/api/agents/{agent['id']}", headers={"Authorization": f"Bearer {shown}"}
        ).status_code
        == 401
    )

    row.get_by_role("button", name="Deactivate: suzuki").click()
    expect(page.locator("#notice")).to_have_text("suzuki deactivated.")
    expect(people.get_by_role("row").filter(has_text="suzuki")).to_have_count(0)
    page.get_by_label("Show deactivated accounts", exact=True).check()
    expect(row).to_contain_text("deactivated")
    assert service.http.get(f"/api/agents/{agent['id']}").json()["active"] is False
    row.get_by_role("button", name="Reactivate: suzuki").click()
    expect(page.locator("#notice")).to_have_text("suzuki reactivated.")
    expect(row.get_by_role("button", name="Deactivate: suzuki")).to_be_visible()
    assert service.http.get(f"/api/agents/{agent['id']}").json()["active"] is True


def test_a_new_manager_in_japanese(service: Service, browser: Any) -> None:
    manager(service)
    page = browser.new_page()
    sign_in_manager(page, service, lang="ja")
    page.goto(f"{service.url}/manage/people")
    page.get_by_role("button", name="新規ユーザー", exact=True).click()
    form = page.get_by_role("form", name="新規ユーザー")
    form.get_by_label("名前", exact=True).fill("yamamoto")
    form.get_by_label("役割", exact=True).select_option("manager")
    form.get_by_role("button", name="作成", exact=True).click()
    expect(page.locator("#notice")).to_have_text("yamamotoを作成しました。")
    row = page.get_by_role("table", name="ユーザー").get_by_role("row").filter(has_text="yamamoto")
    expect(row).to_contain_text("管理者")
    # Managers take no leads: nothing to assign.
    expect(row.get_by_role("button", name="キャンペーン割当: yamamoto")).to_have_count(0)
