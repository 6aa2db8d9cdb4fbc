"""The read side: what the API answers and the consoles show.

A view takes a Session (and `now` where time matters), reads, and returns the
output schemas (pydantic models) validated from the ORM rows, never a hand-built
dict: the schema, typed by the domain's enums, is the one statement of a shape.
A view of a campaign's resource returns it in the campaign's zone,
`localized(out, zone_for(row))` (see `dialer.views.zones`). Views never write."""
