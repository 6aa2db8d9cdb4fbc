"""Telephony behind one interface: `simulated` (embedded default) and `twilio`."""
