"""Sign-ups in a real browser: an unmatched conversion matched to a lead found by
phone (issue test 4, second half), a CSV import of sign-ups with its report, and
a cooling-off cancel with its reason."""

from __future__ import annotations

from typing import Any

from conftest import LEADS, STEP_MS, Service, manager, sign_in_manager
from playwright.sync_api import expect

expect.set_options(timeout=STEP_MS)


def test_4_an_unmatched_sign_up_is_matched_to_a_lead_found_by_phone(
    service: Service, browser: Any
) -> None:
    campaign = service.campaign()
    service.leads(campaign["id"], LEADS)
    # Reported from a number no lead has: stored unmatched, for a person to match.
    stray = service.ok(
        service.http.post(
            "/api/conversions",
            json={"campaign_id": campaign["id"], "reference": "WEB-0007", "channel": "web",
                  "phone": "080-9999-0000"},
        ),
        201,
    )  # fmt: skip
    assert stray["attribution"] == "unmatched"
    manager(service)
    page = browser.new_page()
    sign_in_manager(page, service)
    page.goto(f"{service.url}/manage/conversions?campaign_id={campaign['id']}")
    expect(page.get_by_label("Campaign", exact=True)).to_have_value(str(campaign["id"]))
    unmatched = page.get_by_role("table", name="Unmatched sign-ups")
    unmatched.get_by_role("button", name="Match: WEB-0007").click()
    panel = page.locator("#match-panel")
    expect(panel.get_by_role("heading")).to_have_text("Match WEB-0007 to a lead")
    # Its own number finds nobody; the customer's other number does.
    expect(panel).to_contain_text("No lead matches.")
    panel.get_by_label("Phone", exact=True).fill("090 1234 5678")
    panel.get_by_role("button", name="Search", exact=True).click()
    expect(panel.get_by_role("link", name="山田 太郎")).to_be_visible()
    panel.get_by_role("button", name="Match to this lead", exact=True).click()
    expect(page.locator("#notice")).to_have_text("WEB-0007 matched to 山田 太郎.")
    expect(unmatched).to_contain_text("Every sign-up is matched.")
    matched = service.http.get(f"/api/conversions/{stray['id']}").json()
    lead = service.http.get("/api/leads", params={"phone": "090-1234-5678"}).json()["items"][0]
    assert matched["lead_id"] == lead["id"]
    assert service.http.get(f"/api/leads/{lead['id']}").json()["status"] == "converted"


def test_a_csv_of_sign_ups_is_imported_and_one_is_cancelled_in_cooling_off(
    service: Service, browser: Any, tmp_path: Any
) -> None:
    campaign = service.campaign()
    service.leads(campaign["id"], LEADS)
    manager(service)
    signups = tmp_path / "signups.csv"
    signups.write_text(
        "reference,channel,phone,occurred_at\n"
        "PC-1,postcard,03-1234-5678,2026-11-30\n"
        "PC-2,postcard,080-0000-1111,2026-11-30\n"
        "PC-3,fax,03-1234-5678,2026-11-30\n",
        encoding="utf-8",
    )
    page = browser.new_page()
    sign_in_manager(page, service)
    page.goto(f"{service.url}/manage/conversions?campaign_id={campaign['id']}")
    page.get_by_label("Sign-up file", exact=True).set_input_files(str(signups))
    page.get_by_role("button", name="Import sign-ups", exact=True).click()
    report = page.locator("#import-report")
    expect(report).to_be_visible()
    expect(page.locator("#ci-rows")).to_have_text("3")
    expect(page.locator("#ci-matched")).to_have_text("1")
    expect(page.locator("#ci-unmatched")).to_have_text("1")
    expect(page.locator("#ci-invalid")).to_have_text("1")
    expect(page.locator("#ci-errors")).to_contain_text("Row 3")
    expect(page.get_by_role("table", name="Unmatched sign-ups")).to_contain_text("PC-2")

    page.get_by_role("button", name="Cancel (cooling-off): PC-1").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Reason", exact=True).fill("クーリングオフの書面")
    dialog.get_by_role("button", name="Cancel the sign-up", exact=True).click()
    expect(page.locator("#notice")).to_have_text("PC-1 cancelled.")
    row = page.get_by_role("table", name="Sign-ups").get_by_role("row").filter(has_text="PC-1")
    expect(row).to_contain_text("cancelled")
    items = service.http.get("/api/conversions", params={"campaign_id": campaign["id"]}).json()
    pc1 = next(c for c in items["items"] if c["reference"] == "PC-1")
    assert pc1["status"] == "cancelled"
    assert pc1["cancel_reason"] == "クーリングオフの書面"
