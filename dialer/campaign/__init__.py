"""Campaigns: calling hours, retry and promise policy, call script."""
