"""Kompress: a small line keep/drop model for text no specialised engine claims.

Optional: it needs the ``[ml]`` extra (torch, transformers). Without them nothing here imports
torch, the engine is not registered, and the product works as without it; engines/kompress.py says
so once at info level. The weights ship in the repository (models/kompress/, HuggingFace format);
nothing is downloaded, ever.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from pathlib import Path

log = logging.getLogger("headroom.kompress")

REQUIRED = ("torch", "transformers", "numpy", "safetensors")
ENV_MODEL = "HEADROOM_KOMPRESS_MODEL"  # another model folder (tests use a tiny one)
_HERE = Path(__file__).resolve().parent
CANDIDATES = (_HERE.parents[1] / "models" / "kompress",  # a checkout
              _HERE.parent / "models" / "kompress")  # an installed wheel (pyproject force-include)


def enabled() -> bool:
    """Whether Kompress is the fallback for unclaimed text: on by default (it beat the text fallback
    on tokens saved at the same needles kept, scripts/bench_kompress.py); HEADROOM_KOMPRESS=off turns
    it off. ``--engine kompress`` forces it either way."""
    return os.environ.get("HEADROOM_KOMPRESS", "").strip().lower() not in ("0", "off", "no", "false")


def missing() -> str | None:
    """None when Kompress can run; else one line that says why not and how to get it."""
    absent = [name for name in REQUIRED if importlib.util.find_spec(name) is None]
    if absent:
        return ("Kompress is off: it needs " + ", ".join(absent)
                + " (pip install torch==2.13.0 first, then pip install 'headroom-compress[ml]')")
    if model_dir() is None:
        return f"Kompress is off: no model folder (models/kompress) found; {ENV_MODEL} may name one"
    return None


def status() -> str:
    """One line for the start banner: whether Kompress runs, and if not, why and how to get it."""
    if not enabled():
        return "off (HEADROOM_KOMPRESS=off)"
    why = missing()
    return "on" if why is None else "off: " + why.removeprefix("Kompress is off: ")


def model_dir() -> Path | None:
    chosen = os.environ.get(ENV_MODEL)
    for path in ([Path(chosen)] if chosen else CANDIDATES):
        if (path / "config.json").is_file():
            return path
    return None


_models: dict[Path, object] = {}
_lock = threading.Lock()


def load(path: Path):
    """The model in ``path``, loaded once per process, on CPU, in eval mode, deterministic."""
    with _lock:
        if path not in _models:
            import torch
            from transformers import AutoModel
            from transformers.utils import logging as hf_logging

            import headroom_cli.kompress.modeling  # noqa: F401  (registers model_type "kompress")

            hf_logging.set_verbosity_error()  # no progress bars on a user's terminal
            hf_logging.disable_progress_bar()
            torch.use_deterministic_algorithms(True)
            torch.set_num_threads(1)  # the same sums in the same order on any machine and load
            _models[path] = AutoModel.from_pretrained(str(path)).eval()
        return _models[path]


def line_scores(lines: list[str], terms: tuple[str, ...] = ()) -> list[float] | None:
    """Each line's keep probability, for an engine that must drop and wants a ranking (None when
    Kompress is off: the caller keeps its own order). ``terms``: the query's words (base.part_terms)."""
    if missing() is not None or not lines:
        return None
    from headroom_cli.kompress.engine import scores

    return scores(lines, terms, model_dir())[0]
