"""The agent console in the browser: its pages, static files and the softphone's SDK."""
