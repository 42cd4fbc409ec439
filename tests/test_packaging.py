"""`pip install .` must carry everything the commands need at run time."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_wheel_carries_wrappers_demo_data_and_the_console_script(tmp_path):
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(REPO)],
                           capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    (wheel,) = tmp_path.glob("headroom_compress-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    wrappers = [f"headroom_cli/wrappers/{f.name}" for f in (REPO / "wrappers").glob("*.toml")]
    assert len(wrappers) >= 5  # claude, aider, codex, cursor, command
    for needed in (*wrappers, "headroom_cli/demo_data/pytest_run.txt.gz",
                   "headroom_cli/demo_data/billing_api.log.gz", "headroom_cli/engines/testlog/__init__.py",
                   "headroom_cli/mock_upstream.py", "headroom_cli/models/kompress/config.json",
                   "headroom_cli/models/kompress/model.safetensors"):
        assert needed in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "headroom = headroom_cli.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
    assert not any(n.startswith(("tests/", "scripts/")) for n in names)


# -- the distribution and its extras ---------------------------------------------------------------

DISTRIBUTION = "headroom-compress"  # headroom-cli and headroom-ai on PyPI are other projects


def _pyproject() -> dict:
    import tomllib

    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def test_the_distribution_is_ours_and_every_self_reference_names_it():
    from headroom_cli.extras import DISTRIBUTION as named_in_messages

    project = _pyproject()
    assert project["name"] == DISTRIBUTION == named_in_messages
    assert project["scripts"] == {"headroom": "headroom_cli.cli:main"}
    extras = project["optional-dependencies"]
    for extra, requirements in extras.items():
        for requirement in requirements:
            name = requirement.split("[")[0].split(";")[0].strip()
            assert not name.startswith("headroom") or name == DISTRIBUTION, (extra, requirement)
            if name == DISTRIBUTION:  # a self-reference names extras that exist
                assert set(requirement.split("[")[1].split("]")[0].split(",")) <= set(extras), requirement
    import re

    scripts = (path for path in REPO.glob("scripts/**/*") if path.is_file())
    pages = (REPO / "README.md", *REPO.glob("docs/**/*.md"))
    for text in (*pages, *scripts, *REPO.glob("headroom_cli/**/*.py")):
        # someone else's package: never installed, only named as not ours
        assert not re.search(r"headroom-cli\[|install '?headroom-cli\b", text.read_text(errors="replace")), text


def test_the_library_installs_without_the_proxy_and_the_cli_extra_brings_it():
    project = _pyproject()
    base = " ".join(project["dependencies"]).lower()
    for pinned_by_the_proxy in ("mitmproxy", "h11", "mcp", "anthropic", "openai"):
        assert pinned_by_the_proxy not in base
    extras = project["optional-dependencies"]
    assert any(r.startswith("mitmproxy") for r in extras["proxy"])
    assert f"{DISTRIBUTION}[proxy,mcp]" in extras["cli"]
    assert set(extras["all"][0].split("[")[1].split("]")[0].split(",")) == {"cli", "sdk", "langchain", "litellm", "agno"}
    # Today's majors are inside the integrations' ranges; Python 3.11's caps are markers in `all` only.
    from packaging.requirements import Requirement

    today = {"anthropic": "2.17.0", "openai": "3.63.0", "langchain-core": "1.8.4", "agno": "3.1.10", "mcp": "2.3.0"}
    for extra in ("sdk", "langchain", "agno", "mcp"):
        for requirement in map(Requirement, extras[extra]):
            assert requirement.marker is None and requirement.specifier.contains(today[requirement.name]), requirement
    for requirement in map(Requirement, extras["all"][1:]):
        assert str(requirement.marker) == 'python_version < "3.12"', requirement


_WITHOUT_MITMPROXY = """
import sys
sys.modules["mitmproxy"] = None  # any import of it now fails, as where it is not installed
"""


def _python(code: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, "HEADROOM_HOME": str(tmp_path / "home")}
    return subprocess.run([sys.executable, "-c", _WITHOUT_MITMPROXY + code, *args], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=120)


def test_the_library_compresses_with_mitmproxy_unimportable(tmp_path):
    run = _python("""
sys.modules["h11"] = sys.modules["httpx"] = None  # the proxy's relay needs these; the library must not
import headroom_cli
from headroom_cli import compress, with_headroom, Headroom
import headroom_cli.integrations.chat_messages, headroom_cli.store, headroom_cli.engines, headroom_cli.retrieve
log = "".join(f"tests/test_m.py::test_{i} PASSED\\n" for i in range(2000)) + "1 failed, 1999 passed in 3.2s\\n"
messages = [{"role": "user", "content": "why does it fail?"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "pytest -v"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": log}]}]
result = compress(messages, provider="anthropic", model="claude-sonnet-4-5", max_tokens=1024)
assert result.stats.tokens_after < result.stats.tokens_before / 10, result.stats
print("compressed", result.stats.tokens_before, result.stats.tokens_after)
""", tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.startswith("compressed ")


def test_commands_that_need_the_proxy_say_which_extra_brings_it(tmp_path):
    for command in (["wrap", "claude"], ["proxy"], ["demo", "--fast"]):
        run = _python("from headroom_cli.cli import main\nsys.argv = ['headroom', *sys.argv[1:]]\nmain()",
                      tmp_path, *command)
        assert run.returncode == 1, (command, run.stdout, run.stderr)
        assert run.stderr.strip() == (f"headroom: headroom {command[0]} needs mitmproxy, which the library install "
                                      f"leaves out: pip install '{DISTRIBUTION}[cli]'")
    run = _python("sys.modules['mcp'] = None\nfrom headroom_cli.cli import main\nsys.argv = ['headroom', 'mcp', 'serve']\n"
                  "main()", tmp_path)
    assert run.returncode == 1 and run.stderr.strip() == (
        f"headroom: headroom mcp serve needs mcp, which the library install leaves out: pip install '{DISTRIBUTION}[mcp]'")
    # What needs no proxy still runs.
    run = _python("from headroom_cli.cli import main\nsys.argv = ['headroom', *sys.argv[1:]]\nmain()",
                  tmp_path, "compress", "-")
    assert run.returncode == 0, run.stderr


def test_scripts_test_runs_the_library_tests_that_exist():
    script = (REPO / "scripts" / "test").read_text()
    listed = script.split("LIBRARY_TESTS=(")[1].split(")")[0].split()
    assert len(listed) >= 8 and all((REPO / name).is_file() for name in listed)


def test_every_documented_install_line_names_extras_that_exist():
    import re

    extras = set(_pyproject()["optional-dependencies"])

    def extras_named(page: str, least: int) -> set[str]:
        text = (REPO / page).read_text()
        lines = [line for line in text.splitlines() if re.search(r"\bpipx? install\b", line)
                 and re.search(r"headroom-compress|install '?\.", line)]
        assert len(lines) >= least, page
        named = set()
        for line in lines:
            for group in re.findall(r"(?:headroom-compress|\.)\[([a-z0-9,-]+)\]", line):
                named |= set(group.split(","))
        assert named <= extras, (page, named - extras)
        return named

    integrations = {"sdk", "langchain", "litellm", "agno"}
    assert {"cli", "all", "sdk"} <= extras_named("README.md", 5)
    assert {"cli", "all"} <= extras_named("docs/install.md", 5)
    assert integrations <= extras_named("docs/library.md", 4)
    for page in REPO.glob("docs/**/*.md"):
        extras_named(str(page.relative_to(REPO)), 0)


def test_without_tree_sitter_languages_the_code_engine_stands_aside_quietly(tmp_path):
    # tree-sitter-languages has no build for Python 3.13, so the base install leaves it out there.
    run = _python("""
import logging
sys.modules["tree_sitter_languages"] = None
logging.basicConfig(level=logging.WARNING, format="LOG %(message)s")
from headroom_cli.engines import Part
from headroom_cli.pipeline import Pipeline
from headroom_cli.warmup import warm_up
warm_up()
source = open("headroom_cli/library.py").read()
outcome = Pipeline().run(Part(text=source, tool_name="Read", tool_input="headroom_cli/library.py"))
print("kind", outcome.kind, outcome.text == source)
""", tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "LOG" not in run.stderr, run.stderr  # neither the warm-up nor the pipeline warns
    assert run.stdout.split() == ["kind", "None", "True"]
