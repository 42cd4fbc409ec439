"""Base URLs the person already set stay where the wrapped tool's requests end up.

`wrap` points a tool's base-URL variables at the proxy. When one of them is already set in the
person's environment (a company gateway, a local OpenAI-compatible server), that address becomes the
proxy's upstream for the provider, so wrapping changes what is sent, never where it goes.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping

from headroom_cli.config import DEFAULT_ANTHROPIC_UPSTREAM, DEFAULT_OPENAI_UPSTREAM, Settings
from headroom_cli.wrap.loader import Wrapper

DEFAULTS = {"anthropic": DEFAULT_ANTHROPIC_UPSTREAM, "openai": DEFAULT_OPENAI_UPSTREAM}


def inherit_upstreams(wrapper: Wrapper, providers: list[str], settings: Settings,
                      environ: Mapping[str, str]) -> tuple[Settings, list[str]]:
    """Where the person already points the tool (a gateway, a local OpenAI-compatible server) stays
    where its requests end up: that base URL becomes the proxy's upstream, unless one was given."""
    notes = []
    for name in providers:
        if getattr(settings, f"{name}_upstream") != DEFAULTS[name]:
            continue  # given with a flag or HEADROOM_*_UPSTREAM: that wins
        for var, template in wrapper.providers[name].base_url_vars().items():
            if not template.startswith("{proxy_url}"):
                continue
            path = template.removeprefix("{proxy_url}").rstrip("/")  # "/v1" where the tool wants it
            value = (environ.get(var) or "").strip().rstrip("/")
            if not value.startswith(("http://", "https://")) or not value.endswith(path):
                continue
            upstream = value[:len(value) - len(path)]
            if upstream != DEFAULTS[name]:
                settings = dataclasses.replace(settings, **{f"{name}_upstream": upstream})
                notes.append(f"{name} requests go on to {upstream}, from your {var}")
            break
    return settings, notes
