"""The engine registry: engines register themselves here and the pipeline's router asks it."""

from __future__ import annotations

from headroom_cli.engines.base import Context, Engine, EngineTimeout, Part, Result

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


def _load_builtin() -> None:
    # Importing an engine module registers it; done lazily so `import headroom_cli` stays cheap.
    from headroom_cli.engines import testlog  # noqa: F401


__all__ = ["Context", "Engine", "EngineTimeout", "Part", "Result", "register", "registered", "get"]
