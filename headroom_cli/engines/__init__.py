"""The engine registry: engines register themselves here and the pipeline's router asks it."""

from __future__ import annotations

import threading

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
_importing = False  # only ever true for the thread holding _lock: a call from inside an engine's import
_lock = threading.RLock()


def _load_builtin() -> None:
    """Import every engine module in this package once; importing one registers it.

    Done lazily so `import headroom_cli` stays cheap. A module that fails to import is reported
    and skipped: one broken engine must not take the others down. Thread-safe: a caller that comes
    while another thread is loading waits for it (ten requests reaching a fresh proxy at once must
    all see every engine), and only then is the registry marked loaded.
    """
    global _loaded, _importing
    if _loaded:
        return
    with _lock:
        if _loaded or _importing:  # loaded meanwhile, or asked again from inside an engine's import
            return
        _importing = True
        try:
            _import_all()
        finally:
            _importing = False
        _loaded = True


def _import_all() -> None:
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
