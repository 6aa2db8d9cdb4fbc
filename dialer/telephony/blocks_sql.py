"""The dialing block's hand-written read (dialer.telephony.blocks.block_of), run
at every dial: the account's and the campaign's rows in one statement, instead
of two `session.get` of rows that are almost always absent; and the campaigns
blocked, read by every pacer round."""

from __future__ import annotations

from dialer.sql import sql

BLOCK_COLUMNS = "scope, campaign_id, code, provider_code, detail, call_id, since_at"
ACCOUNT_OR_CAMPAIGN = sql(
    "dialing_block.account_or_campaign",
    f"SELECT {BLOCK_COLUMNS} FROM dialing_block WHERE scope IN (?, ?)",
)
ALL_BLOCKS = sql("dialing_block.all", f"SELECT {BLOCK_COLUMNS} FROM dialing_block ORDER BY scope")

# `blocked_campaigns`' rule as a condition of a statement over campaigns: no
# block of the account (campaign_id NULL) and none of this campaign. `{c}`: the
# campaign table's alias. The predictive rounds read their campaigns with it,
# one statement instead of the blocks and then the campaigns.
NOT_BLOCKED = (
    "NOT EXISTS (SELECT b.scope FROM dialing_block b"
    " WHERE b.campaign_id IS NULL OR b.campaign_id = {c}.id)"
)
