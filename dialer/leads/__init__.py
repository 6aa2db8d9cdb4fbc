"""Leads: households and organizations, their phones and contacts, their history."""
