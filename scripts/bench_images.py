#!/usr/bin/env python3
"""Image compression on real images made here: billed tokens before/after per provider, bytes, speed,
and for screens the text OCR still recovers.

The corpus is built in --corpus (a temporary folder by default) from what this machine has:
  screens  pages rendered by headless Chromium (Debian's `chromium`) from local HTML (the Rust docs
           rustup installs), terminal screenshots drawn with pillow in DejaVu Sans Mono from real
           outputs (the shared corpus's logs and search results), charts plotted with matplotlib;
  photos   the photographs scikit-image ships in skimage/data, and those in the Rust embedded book.
A source that is missing here is skipped and said so. Legibility: tesseract (Debian `tesseract-ocr`,
through pytesseract) reads the original and the compressed image scaled back to the original's size;
"ocr" is the share of the original's recovered characters (whitespace ignored) that the compressed
one's text matches in order (difflib). "ocr@sent" reads the compressed image at the size it is sent;
"ocr/seen" compares with the original as the provider itself would scale it (what the model reads of
it without Headroom), both scaled back up.

    PYTHONPATH=$PWD python scripts/bench_images.py [--json] [--corpus DIR] [--runs 3] [--no-ocr]
"""

from __future__ import annotations

import argparse
import difflib
import glob
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from headroom_cli.images import decide, tokens

MONO = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
RUST_DOCS = sorted(glob.glob(os.path.expanduser("~/.rustup/toolchains/*/share/doc/rust/html")))
PAGES = ["book/ch04-01-what-is-ownership.html", "std/vec/struct.Vec.html", "cargo/index.html",
         "embedded-book/intro/index.html", "book/ch09-02-recoverable-errors-with-result.html"]
TERMINALS = ["logs/make_gcc_minikv.txt", "logs/app_orderservice.txt", "search/rg_context_cobra_go.txt"]
PHOTOS = ["hubble_deep_field.jpg", "retina.jpg", "motorcycle_left.png", "motorcycle_right.png", "rocket.jpg",
          "astronaut.png", "coffee.png", "chelsea.png"]


def build_corpus(folder: Path, shared: Path) -> tuple[list[tuple[str, str, Path]], list[str]]:
    """(class, name, path) of every image made, and what was skipped and why."""
    made, skipped = [], []
    for maker in (_pages, _terminals, _charts, _photos):
        found, missing = maker(folder, shared)
        made += found
        skipped += missing
    return made, skipped


def _pages(folder: Path, shared: Path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium or not RUST_DOCS:
        return [], ["page screenshots: no chromium or no local Rust docs"]
    made = []
    for page in PAGES:
        source = Path(RUST_DOCS[-1]) / page
        out = folder / ("page_" + page.replace("/", "_").replace(".html", ".png"))
        if source.exists() and not out.exists():
            subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                            "--window-size=1920,1080", f"--screenshot={out}", source.as_uri()],
                           capture_output=True, timeout=60)
        if out.exists():
            made.append(("screen", out.stem, out))
    return made, []


def _terminals(folder: Path, shared: Path):
    if not Path(MONO).exists():
        return [], ["terminal screenshots: no DejaVu Sans Mono (Debian fonts-dejavu-core)"]
    made = []
    for i, name in enumerate(TERMINALS):
        source = shared / "corpus" / name
        if not source.exists():
            continue
        out = folder / f"term_{source.stem}.png"
        size = (1920, 1080) if i % 2 == 0 else (1280, 800)
        _draw_terminal(source.read_text(errors="replace").splitlines(), size, out, dark=i % 2 == 0)
        made.append(("screen", out.stem, out))
    return made, [] if made else ["terminal screenshots: shared corpus not found"]


def _draw_terminal(lines: list[str], size: tuple[int, int], out: Path, dark: bool) -> None:
    background, ink = ((30, 30, 30), (220, 220, 220)) if dark else ((250, 250, 250), (20, 20, 20))
    image = Image.new("RGB", size, background)
    draw, font = ImageDraw.Draw(image), ImageFont.truetype(MONO, 15)
    for row, line in enumerate(lines[: (size[1] - 8) // 19]):
        draw.text((8, 4 + row * 19), line.expandtabs(4)[:220], font=font, fill=ink)
    image.save(out, "PNG")


def _charts(folder: Path, shared: Path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return [], ["charts: matplotlib not installed"]
    made = []
    for kind in ("line", "bar"):
        out = folder / f"chart_{kind}.png"
        fig, ax = plt.subplots(figsize=(16, 10), dpi=100)
        xs = list(range(60))
        if kind == "line":
            for k in range(3):
                ax.plot(xs, [((x * (k + 3)) % 17) + k * 5 for x in xs], label=f"p{50 + k * 20} latency (ms)")
            ax.legend()
        else:
            ax.bar([f"svc-{i}" for i in range(12)], [(i * 37) % 91 + 5 for i in range(12)])
        ax.set_title(f"Requests per service ({kind})")
        ax.set_xlabel("minute")
        ax.set_ylabel("value")
        fig.savefig(out)
        plt.close(fig)
        made.append(("screen", out.stem, out))
    return made, []


def _photos(folder: Path, shared: Path):
    made, skipped = [], []
    try:
        import skimage
        base = Path(skimage.__file__).parent / "data"
        made += [("photo", "skimage_" + Path(n).stem, base / n) for n in PHOTOS if (base / n).exists()]
    except ImportError:
        skipped.append("photos: scikit-image not installed")
    for docs in RUST_DOCS[-1:]:
        made += [("photo", "rust_" + Path(p).stem, Path(p)) for p in sorted(glob.glob(f"{docs}/embedded-book/assets/*.jp*g"))]
    return made, skipped


def ocr_text(image: Image.Image, size: tuple[int, int] | None = None) -> str:
    """What tesseract reads, white space dropped; the image first scaled to ``size`` when given."""
    import pytesseract

    image = image.convert("RGB")
    if size is not None and image.size != size:
        image = image.resize(size, Image.Resampling.LANCZOS)
    return "".join(pytesseract.image_to_string(image).split())


def recovered(want: str, got: str) -> float:
    """Share of want's characters that got matches in order."""
    if not want:
        return 1.0
    matcher = difflib.SequenceMatcher(None, want, got, autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks()) / len(want)


def ocr_shares(original: Image.Image, compressed: Image.Image, seen: tuple[int, int]) -> tuple[float, float, float]:
    """OCR of the compressed image against the original's: scaled back to the original's size; at the
    size it is sent; and against the original as the provider itself would scale it (what the model
    would have seen of it without Headroom), both scaled back to the original's size."""
    full = original.size
    want, want_seen = ocr_text(original), ocr_text(original.convert("RGB").resize(seen, Image.Resampling.LANCZOS), full)
    got = ocr_text(compressed, full)
    return recovered(want, got), recovered(want, ocr_text(compressed)), recovered(want_seen, got)


def measure(kind: str, name: str, path: Path, provider: str, runs: int, ocr: bool) -> dict:
    data = path.read_bytes()
    times, decision = [], None
    for _ in range(runs):
        started = time.perf_counter()
        decision = decide.decide(data, provider)
        times.append(time.perf_counter() - started)
    w, h = decision.size_before
    row = {"class": kind, "name": name, "provider": provider, "size": f"{w}x{h}", "seen_as": decision.kind,
           "sent": "x".join(map(str, decision.size_after)), "tokens_before": decision.tokens_before,
           "tokens_after": decision.tokens_after, "saved": 1 - decision.tokens_after / max(1, decision.tokens_before),
           "bytes_before": len(data), "bytes_after": len(decision.data), "detail": decision.detail,
           "ms_per_mp": statistics.median(times) * 1000 / (w * h / 1e6), "ocr": None, "ocr_at_sent": None,
           "ocr_vs_seen": None}
    if ocr and kind == "screen" and decision.changed:
        seen = tokens.anthropic_size(w, h) if provider == tokens.ANTHROPIC else tokens.openai_size(w, h)
        row["ocr"], row["ocr_at_sent"], row["ocr_vs_seen"] = ocr_shares(
            Image.open(path), Image.open(io.BytesIO(decision.data)), seen)
    return row


def summary(rows: list[dict]) -> dict:
    out = {}
    for provider in tokens.PROVIDERS:
        for kind in ("screen", "photo"):
            mine = [r for r in rows if r["provider"] == provider and r["class"] == kind]
            big = [r for r in mine if r["seen_as"] != "small"]
            full_hd = [r for r in big if r["size"] == "1920x1080"]
            ocr = [r["ocr"] for r in mine if r["ocr"] is not None]
            pages = [r["ocr"] for r in mine if r["ocr"] is not None and r["name"].startswith("page_")]
            vs_seen = [r["ocr_vs_seen"] for r in mine if r["ocr_vs_seen"] is not None]
            out[f"{provider}/{kind}"] = {
                "images": len(mine), "over_0.3MP": len(big),
                "median_saved": statistics.median([r["saved"] for r in big]) if big else None,
                "min_saved": min((r["saved"] for r in big), default=None),
                "min_saved_full_hd": min((r["saved"] for r in full_hd), default=None),
                "min_ocr": min(ocr, default=None), "median_ocr": statistics.median(ocr) if ocr else None,
                "median_ocr_pages": statistics.median(pages) if pages else None,
                "median_ocr_vs_seen": statistics.median(vs_seen) if vs_seen else None,
                "median_ms_per_mp": statistics.median([r["ms_per_mp"] for r in big]) if big else None,
                "max_ms_per_mp": max((r["ms_per_mp"] for r in big), default=None)}
    return out


def _pct(x):
    return "-" if x is None else f"{x * 100:.1f}%"


def print_table(rows: list[dict], sums: dict, skipped: list[str]) -> None:
    print(f"{'image':34} {'prov':9} {'size':>9} {'as':6} {'sent':>9} {'tok before':>10} {'after':>6} {'saved':>6} "
          f"{'KB before':>9} {'after':>6} {'ms/MP':>6} {'ocr':>6} {'ocr@sent':>8} {'ocr/seen':>8}")
    for r in rows:
        print(f"{r['name'][:34]:34} {r['provider']:9} {r['size']:>9} {r['seen_as']:6} {r['sent']:>9} "
              f"{r['tokens_before']:>10,} {r['tokens_after']:>6,} {_pct(r['saved']):>6} {r['bytes_before'] / 1024:>9.0f} "
              f"{r['bytes_after'] / 1024:>6.0f} {r['ms_per_mp']:>6.1f} {_pct(r['ocr']):>6} {_pct(r['ocr_at_sent']):>8} {_pct(r['ocr_vs_seen']):>8}")
    print("\nsummary (images over 0.3 MP; smaller ones are sent as they are):")
    for key, s in sums.items():
        print(f"  {key:17} n={s['images']:2} (>0.3MP {s['over_0.3MP']:2})  median saved {_pct(s['median_saved'])}  "
              f"min {_pct(s['min_saved'])}  min full-HD {_pct(s['min_saved_full_hd'])}  ocr median {_pct(s['median_ocr'])} "
              f"(pages {_pct(s['median_ocr_pages'])}, vs provider's view {_pct(s['median_ocr_vs_seen'])}) min {_pct(s['min_ocr'])}  "
              f"ms/MP median {s['median_ms_per_mp'] or 0:.1f} max {s['max_ms_per_mp'] or 0:.1f}")
    for line in skipped:
        print("  skipped:", line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--corpus", type=Path, help="where to build (and keep) the images; a temporary folder if not given")
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared")
    parser.add_argument("--runs", type=int, default=3, help="timing runs per image (the median is shown)")
    parser.add_argument("--no-ocr", action="store_true")
    args = parser.parse_args(argv)
    ocr = not args.no_ocr and shutil.which("tesseract") is not None
    folder = args.corpus or Path(tempfile.mkdtemp(prefix="headroom-images-"))
    folder.mkdir(parents=True, exist_ok=True)
    images, skipped = build_corpus(folder, args.shared)
    if not ocr:
        skipped.append("OCR: tesseract not found (Debian tesseract-ocr) or --no-ocr")
    rows = [measure(kind, name, path, provider, args.runs, ocr)
            for kind, name, path in images for provider in tokens.PROVIDERS]
    sums = summary(rows)
    if args.json:
        print(json.dumps({"rows": rows, "summary": sums, "skipped": skipped}, indent=2))
    else:
        print_table(rows, sums, skipped)
    return 0


if __name__ == "__main__":
    sys.exit(main())
