"""The engine registry: engines register themselves here and the pipeline's router asks it."""

from __future__ import annotations

from headroom_cli.engines.base import Context, Engine, EngineTimeout, Part, Result, query_terms

_ENGINES: dict[str, Engine] = {}


def register(engine: Engine) -> Engine:
    _ENGINES[engine.name] = engine
    return engine


def registered() -> list[Engine]:
    _load_builtin()
    return [_ENGINES[name] for name in sorted(_ENGINES)]


def get(name: str) -> Engine | None:
    _load_builtin()
    return _ENGINES.get(name)


_loaded = False


def _load_builtin() -> None:
    """Import every engine module in this package once; importing one registers it.

    Done lazily so `import headroom_cli` stays cheap. A module that fails to import is reported
    and skipped: one broken engine must not take the others down.
    """
    global _loaded
    if _loaded:
        return
    _loaded = True
    import importlib
    import logging
    import pkgutil

    for module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
        if module == "base":
            continue
        try:
            importlib.import_module(f"{__name__}.{module}")
        except Exception as exc:
            logging.getLogger("headroom.engines").error("engine module %s failed to load: %s: %s",
                                                        module, type(exc).__name__, exc)


__all__ = ["Context", "Engine", "EngineTimeout", "Part", "Result", "query_terms", "register", "registered", "get"]
