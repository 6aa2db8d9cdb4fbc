"""Agents and managers, their state, and the next-lead queue."""
