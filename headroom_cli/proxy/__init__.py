"""The in-process mitmproxy shim: lifecycle (server.py) and the addon that does the work (addon.py)."""
