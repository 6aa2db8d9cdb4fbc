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
