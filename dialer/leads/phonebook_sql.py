"""The phone book's hand-written reads: the claim checks a candidate's phones
against the do-not-call list, and the import checks each batch's numbers."""

from __future__ import annotations

from dialer.sql import sql

LISTED = sql("phonebook.listed", "SELECT phone FROM dnc_entry WHERE phone {in_}")
PHONE_FACTS = sql(
    "phonebook.phone_facts",
    "SELECT p.number, p.retired, d.id FROM phone p"
    " LEFT JOIN dnc_entry d ON d.phone = p.number"
    " WHERE p.lead_id = ? ORDER BY p.position, p.id",
)
