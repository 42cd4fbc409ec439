"""Kompress's data: real tool outputs of real programs run here, and per-line keep/drop labels.

Shared by train_kompress.py and bench_kompress.py. Each *family* is one program (pip, git, grep,
unittest, pydoc, nm, ...) run with varied arguments over third-party code installed on this machine.
Families marked held out never reach training: the bench measures on them (and on the evaluation
corpora, which training never reads). Outputs are cached under build/kompress-data/ (git-ignored).

Labels (why each is defensible):
- where a specialised engine claims the output and omits lines, the lines it keeps (outside every
  marker's --lines range) are "keep": the product's own rules, written per format;
- failures, errors, warnings and tracebacks are "keep" everywhere (what an agent acts on);
- lines holding a word of the sample's focus (a query derived from a rare identifier of the output,
  as an agent asks about one thing) are "keep";
- in repetitive output (most lines share a template), a line whose template occurs once is "keep";
- headings (markdown #, underlined titles, "Section:" lines) and the first and last non-blank lines.
Everything else is "drop".
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import shlex
import subprocess
import sys
import sysconfig
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "build" / "kompress-data"
SITE = Path(sys.prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
STDLIB = Path(sys.base_prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
MAX_CHARS = 120_000
MIN_CHARS = 1_500

PKGS = ["requests", "urllib3", "rich", "typer", "click", "jinja2", "lxml", "PIL", "tiktoken", "idna",
        "certifi", "charset_normalizer", "psutil", "platformdirs", "trafilatura", "transformers", "safetensors",
        "numpy", "torch", "markdown_it", "pygments", "yaml", "filelock", "fsspec", "sympy", "networkx"]
UNITTESTS = ["test_textwrap", "test_json", "test_shlex", "test_csv", "test_difflib", "test_fnmatch",
             "test_base64", "test_string", "test_heapq", "test_bisect", "test_statistics", "test_fractions",
             "test_ipaddress", "test_configparser", "test_argparse", "test_pprint", "test_calendar"]
MODULES = ["json", "textwrap", "shlex", "csv", "difflib", "argparse", "pathlib", "subprocess", "logging",
           "statistics", "fractions", "ipaddress", "configparser", "heapq", "bisect", "string", "calendar"]
PATTERNS = ["def ", "import ", "TODO", "raise ", "self\\.", "return None", "Error", "warn", "class .*Exception"]
FAILING = ("import {m}\nfrom test import {t}\nimport unittest\n"
           "class Broken(unittest.TestCase):\n    def test_broken(self):\n        self.assertEqual({v!r}, {w!r}, 'value drifted in {m}')\n")


@dataclass
class Sample:
    family: str
    command: str
    text: str
    query: str | None = None


def _site_pkgs(n: int) -> list[Path]:
    return [SITE / p for p in PKGS if (SITE / p).is_dir()][:n]


def commands(tiny: bool = False) -> dict[str, list[str]]:
    """family -> shell commands. Held-out families' names start with "heldout:"."""
    py = shlex.quote(sys.executable)
    pkgs = _site_pkgs(4 if tiny else 26)
    names = [p.name for p in pkgs]
    git = "git -C " + shlex.quote(str(REPO))
    inc = shlex.quote(sysconfig.get_paths()["include"])
    fam: dict[str, list[str]] = {
        "pip-show": [f"{py} -m pip show -f {n}" for n in names],
        "pip-list": [f"{py} -m pip list -v", f"{py} -m pip freeze", f"{py} -m pip list --format=columns"],
        "git-log": [f"{git} log --stat -n 25 --skip {k}" for k in range(0, 400, 50)],
        "git-show": [f"{git} show HEAD~{k}" for k in range(0, 60, 4)],
        "grep": [f"grep -rn {shlex.quote(p)} {shlex.quote(str(d))}" for d in pkgs[:10] for p in PATTERNS[:4]],
        "find": [f"find {shlex.quote(str(d))} -name '*.py'" for d in pkgs],
        "ls": [f"ls -laR {shlex.quote(str(d))}" for d in pkgs[:12]],
        "du": [f"du -a {shlex.quote(str(d))}" for d in pkgs[:8]],
        "dpkg": ["dpkg -l"] + [f"dpkg -L {p}" for p in ("git", "openssl", "gcc", "make", "coreutils", "perl-base")],
        "unittest": [f"{py} -m unittest -v test.{t}" for t in UNITTESTS[:12]],
        "unittest-failing": [f"{py} -c {shlex.quote(FAILING.format(m=m, t=t, v=i, w=i + 1))} 2>&1; "
                             f"{py} -m unittest -v test.{t}" for i, (m, t) in enumerate(zip(MODULES[:6], UNITTESTS[:6]))],
        "pydoc": [f"{py} -m pydoc {m}" for m in MODULES],
        "metadata": [f"cat {shlex.quote(str(p))}" for p in sorted(SITE.glob("*.dist-info/METADATA"))[:40]],
        "importtime": [f"{py} -X importtime -c 'import {n}'" for n in names[:10]],
        "nm": [f"nm -D --defined-only {shlex.quote(str(so))}" for so in sorted(SITE.glob("*/*.so"))[:10]],
        "objdump": [f"objdump -h {shlex.quote(str(so))}" for so in sorted(SITE.glob("*/*.so"))[:6]],
        "tokenize": [f"{py} -m tokenize {shlex.quote(str(STDLIB / (m + '.py')))}" for m in MODULES[:6]],
        "help": [f"{py} --help", "git help -a", f"{py} -m pip --help", "gcc --help", "ls --help", "grep --help",
                 "find --help", "tar --help", "curl --help all", "openssl help"],
        "file": [f"file {shlex.quote(str(d))}/*" for d in pkgs[:10]],
        "pytest": [f"{py} -m pytest -v -p no:cacheprovider {shlex.quote(str(STDLIB / 'test' / (t + '.py')))}"
                   for t in UNITTESTS[:8]],
        "pytest-failing": [f"cd $(mktemp -d) && printf %s {shlex.quote(FAILING.format(m=m, t=t, v=i, w=i * 2))} > "
                           f"test_k.py && cp {shlex.quote(str(STDLIB / 'test' / (t + '.py')))} . && "
                           f"{py} -m pytest -v -p no:cacheprovider test_k.py {t}.py" for i, (m, t) in
                           enumerate(zip(MODULES[6:12], UNITTESTS[6:12]), 3)],
        "git-diff": [f"{git} diff HEAD~{k + 3} HEAD~{k}" for k in range(0, 90, 6)],
        "python-info": [f"{py} -m sysconfig", f"{py} -m site", f"{py} -m pip debug --verbose", "ps aux", "df -h",
                        "mount", f"{py} -m pip check", "locale -a", "ulimit -a; getconf -a"],
        "json-tool": [f"{py} -m json.tool {shlex.quote(str(j))}" for j in sorted(SITE.glob("*/*.json"))[:8]],
        # held out: programs and formats no training sample comes from
        "heldout:man": [f"man -P cat {c}" for c in ("bash", "git-rebase", "tar", "rsync", "ssh", "find", "gcc")],
        "heldout:openssl": [f"openssl x509 -text -noout -in {shlex.quote(str(SITE / 'certifi' / 'cacert.pem'))}",
                            "openssl ciphers -v", "openssl list -digest-algorithms"],
        "heldout:doctest": [f"{py} -m doctest -v {shlex.quote(str(STDLIB / (m + '.py')))}"
                            for m in ("fractions", "statistics", "difflib", "heapq", "textwrap")],
        "heldout:readelf": [f"readelf -Ws {shlex.quote(str(so))}" for so in sorted(SITE.glob("*/*.so"))[-4:]],
        "heldout:strace": [f"strace -f -e trace=file {py} -c 'import {n}'" for n in ("json", "csv", "email")],
        "heldout:gcc": [f"gcc -fsyntax-only -Wall -Wextra -pedantic -std=c89 -I{inc} -x c {inc}/{h}"
                        for h in ("Python.h", "datetime.h", "structmember.h", "frameobject.h", "marshal.h")],
        "heldout:blame": [f"{git} blame {f}" for f in ("headroom_cli/markers.py", "headroom_cli/pipeline.py",
                                                        "headroom_cli/tokens.py")],
    }
    if tiny:
        return {k: v[:1] for k, v in list(fam.items())[:6]}
    return fam


def run(command: str, timeout: int = 60) -> str:
    try:
        done = subprocess.run(["bash", "-c", command], capture_output=True, timeout=timeout, cwd="/tmp",
                              env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "MANWIDTH": "100", "HOME": "/tmp"})
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"") + (exc.stderr or b"")
    else:
        out = done.stdout + done.stderr
    return out.decode("utf-8", "replace")[:MAX_CHARS]


def collect(tiny: bool = False, refresh: bool = False) -> list[Sample]:
    """Every family's outputs, from the cache when there (same command, same output file)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    samples = []
    for family, cmds in commands(tiny).items():
        for cmd in cmds:
            path = CACHE / (hashlib.sha256(cmd.encode()).hexdigest()[:16] + ".json")
            if path.exists() and not refresh:
                data = json.loads(path.read_text())
            else:
                data = {"family": family, "command": cmd, "text": run(cmd)}
                path.write_text(json.dumps(data))
            if len(data["text"]) >= MIN_CHARS:
                samples.append(Sample(data["family"], data["command"], data["text"]))
    return samples


# --- labels ---------------------------------------------------------------------------------------

ALERT = re.compile(r"\b(error|errors|fail|failed|failure|failures|fatal|panic|exception|traceback|warning|"
                   r"denied|abort|aborted|assert\w*|critical|FAIL|ERROR)\b", re.I)
HEADING = re.compile(r"^(#{1,6} \S|[A-Z][A-Z0-9 _-]{2,40}$|[A-Za-z][\w .-]{0,40}:$|[=\-~]{4,}$)")
_NUM = re.compile(r"0x[0-9a-f]+|\d+", re.I)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{5,}")


def template(line: str) -> str:
    return _NUM.sub("0", line.strip())[:60]


def derive_query(text: str, rng: random.Random) -> str | None:
    """A focus like an agent's: an identifier that occurs on a few lines only (1-3)."""
    lines = text.split("\n")
    counts = Counter(w for line in lines for w in set(_WORD.findall(line)))
    rare = sorted(w for w, n in counts.items() if 1 <= n <= 3)
    return rng.choice(rare) if rare else None


def engine_kept(text: str, query: str | None) -> list[bool] | None:
    """The lines a specialised engine keeps, or None when none claims the output or none omits anything."""
    from headroom_cli.engines import Part
    from headroom_cli.markers import find_markers
    from headroom_cli.pipeline import Pipeline

    outcome = Pipeline(part_budget_s=5.0).run(Part(text=text, query=query))
    if not outcome.part_id or outcome.engine in ("text", "kompress"):
        return None
    n = len(text.split("\n"))
    kept = [True] * n
    for m in find_markers(outcome.text):
        if not m.group("a"):
            return None  # a whole rewrite: no per-line verdict
        for i in range(int(m.group("a")) - 1, min(int(m.group("b")), n)):
            kept[i] = False
    return kept


def rule_labels(lines: list[str], query: str | None) -> list[bool]:
    temps = [template(line) for line in lines]
    counts = Counter(temps)
    repetitive = sum(1 for t in temps if counts[t] >= 3) >= 0.6 * max(1, len(lines))
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    ends = set(nonblank[:2] + nonblank[-2:])
    q = (query or "").lower()
    out = []
    for i, line in enumerate(lines):
        keep = bool(ALERT.search(line)) or i in ends or bool(HEADING.match(line))
        keep = keep or (bool(q) and q in line.lower()) or (repetitive and counts[temps[i]] == 1 and bool(line.strip()))
        out.append(keep)
    return out


def labels(text: str, query: str | None) -> list[int]:
    lines = text.split("\n")
    rules = rule_labels(lines, query)
    engine = engine_kept(text, query)
    if engine is None:
        return [int(r) for r in rules]
    # the engine's verdict, plus what an agent acts on whatever the format: alerts and the focus
    q = (query or "").lower()
    return [int(e or bool(ALERT.search(line)) or (bool(q) and q in line.lower())) for e, line in zip(engine, lines)]
