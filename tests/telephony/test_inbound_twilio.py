"""A customer ringing back through the local Twilio-compatible server, over real
HTTP: Twilio asks the campaign number's voice URL (/webhooks/twilio/incoming),
signed with the account's token, and bridges the caller to the agent the dialer
chose, who gets the lead. The routing rules themselves: tests/calls/test_inbound.py."""

from __future__ import annotations

from fake_twilio import FakeTwilio
from helpers import Api, live_twilio

ACCOUNT = "AC" + "3" * 32
TOKEN = "inbound-twilio-test-token"
CALLER_ID = "+81312345678"
CUSTOMER_E164 = "+819055550001"


def test_a_customer_ringing_through_twilio_reaches_the_agent_who_gets_the_lead(
    db_url: str,
) -> None:
    with FakeTwilio(account_sid=ACCOUNT, auth_token=TOKEN) as fake:
        live = live_twilio(db_url, account=ACCOUNT, token=TOKEN, api_base=fake.base_url)
        try:
            api = Api(live.http)  # type: ignore[arg-type]
            c = api.campaign(caller_id=CALLER_ID)
            r = api.import_csv(c["id"], "name,phone\n山田,090-5555-0001\n佐々木,090-5555-0002\n")
            assert r.status_code == 201, r.text
            sato = api.agent([c["id"]], name="Sato")
            leads = api.get(f"/api/campaigns/{c['id']}/leads").json()["items"]
            lead = next(x for x in leads if x["phones"][0]["number"] == CUSTOMER_E164)
            url = f"{live.url}/webhooks/twilio/incoming"

            r = fake.ring_in(from_=CUSTOMER_E164, to=CALLER_ID, url=url)
            assert r.status_code == 200, r.text
            assert f'callerId="{CALLER_ID}"' in r.text and "<Client>sato</Client>" in r.text
            got = api.next(sato).json()
            assert got["lead"]["id"] == lead["id"]  # claimed for the agent who took the call
            [inbound] = api.get(f"/api/campaigns/{c['id']}/incoming").json()["items"]
            assert inbound["lead_id"] == lead["id"] and inbound["agent_id"] == sato["id"]

            # Not signed with the account's token: refused, nothing recorded.
            r = fake.ring_in(from_=CUSTOMER_E164, to=CALLER_ID, url=url, sign=False)
            assert r.status_code == 403
            assert len(api.get(f"/api/campaigns/{c['id']}/incoming").json()["items"]) == 1
        finally:
            live.close()
