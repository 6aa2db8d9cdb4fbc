"""Outbound campaign dialer service."""

__version__ = "0.1.0"
