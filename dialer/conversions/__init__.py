"""Conversions and the credit they give agents."""
