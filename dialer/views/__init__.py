"""The read side: what the API answers and the consoles show.

A view takes a Session (and `now` where time matters), reads, and returns the
output schemas (pydantic models) validated from the ORM rows, never a hand-built
dict: the schema, typed by the domain's enums, is the one statement of a shape.
Views never write."""
