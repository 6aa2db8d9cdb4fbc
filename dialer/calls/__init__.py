"""Calls: one attempt each, its status timeline and its disposition."""
