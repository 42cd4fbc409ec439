"""`headroom wrap TOOL`: the proxy on a free port plus the tool as a child process."""
