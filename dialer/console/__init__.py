"""The agent console: server-rendered pages, plain JavaScript, en/ja catalogs."""
