"""The agent console: server-rendered pages, plain JavaScript, en/ja catalogs, and the
softphone's Twilio SDK bundle (vendor.py)."""
