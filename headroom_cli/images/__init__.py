"""Images in requests: what each provider bills for one (tokens.py), what to make of it (decide.py), and
where images sit in each wire format (wire.py)."""
