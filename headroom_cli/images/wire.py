"""Where images sit in each wire format, and how a compressed one is written back beside its marker.

Anthropic: ``image`` blocks with a base64 ``source``, in user content and inside ``tool_result``
content. OpenAI chat: ``image_url`` parts whose ``url`` is a data URL (with an optional ``detail``).
OpenAI Responses: ``input_image`` parts (``image_url`` a data URL, ``detail`` beside it), in messages
and in ``function_call_output`` lists. An image given by URL is not ours to fetch: it passes through.

Each decision is made once per image and provider and frozen in the store like every part (the
frozen text is the JSON of what to write), so re-sent history is byte-identical; the original's
base64 text is stored under ``hr_`` + its hash, and a text block beside the image names that ID.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Iterator

from headroom_cli.images import decide as deciding
from headroom_cli.images import tokens
from headroom_cli.markers import ccr_id, marker
from headroom_cli.pipeline import Outcome, Pipeline
from headroom_cli.providers import API_PATHS, by_api

ENGINE = "image"
KIND = "image"
_API_BY_IMAGE_BLOCK = {by_api(api).image_block: api for api in API_PATHS}  # "image" -> "anthropic-messages" ...
_FORMAT = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WebP", "image/gif": "GIF"}


@dataclass
class ImageSlot:
    """One base64 image in a parsed body: ``content[index]`` is its block."""

    content: list[Any]
    index: int
    api: str  # "anthropic-messages" | "openai-chat" | "openai-responses"

    @property
    def block(self) -> dict[str, Any]:
        return self.content[self.index]

    def read(self) -> tuple[str, str | None] | None:
        """(base64 text, detail) when the block holds base64 data; None for URL-sourced images."""
        return by_api(self.api).image_data(self.block)

    def write(self, new: dict[str, Any]) -> None:
        """Put the frozen decision in: the new image (and detail), then the marker as a text block after it."""
        wire = by_api(self.api)
        wire.write_image(self.block, new["media_type"], new["data"], new.get("detail"))
        self.content.insert(self.index + 1, {"type": wire.text_block, "text": new["marker"]})


def image_slots(body: dict[str, Any], api: str) -> list[ImageSlot]:
    """Every image block of the request's user content and tool outputs, in document order."""
    return list(_slots(body, api))


def _slots(body: dict[str, Any], api: str) -> Iterator[ImageSlot]:
    wire = by_api(api)
    wanted = wire.image_block
    items = body.get(wire.items_key)
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or item.get("role") in ("assistant", "system", "developer"):
            continue
        for content in _contents(item):
            for index, block in enumerate(content):
                if isinstance(block, dict) and block.get("type") == wanted:
                    yield ImageSlot(content, index, api)


def _contents(item: dict[str, Any]) -> Iterator[list[Any]]:
    """The content lists of a message or item: its own, and those of the tool results it carries."""
    for key in ("content", "output"):
        content = item.get(key)
        if isinstance(content, list):
            yield content
            for block in content:
                if isinstance(block, dict) and block.get("type") == "tool_result" and isinstance(block.get("content"), list):
                    yield block["content"]


def rewrite_images(body: dict[str, Any], api: str, provider: str, pipeline: Pipeline) -> list[Outcome]:
    """Compress every base64 image of the body in place; one outcome per image (unchanged ones too)."""
    outcomes = []
    if drives_a_screen(body):
        return outcomes
    api = by_api(api).shaped(body).api  # Cursor posts Responses-shaped bodies to the chat path
    # From the last to the first: an inserted marker block does not move the images still to come.
    for slot in reversed(image_slots(body, api)):
        found = slot.read()
        if found is None:
            continue
        data, detail = found
        outcome = _decided(data, provider, detail, pipeline)
        if outcome.changed:
            slot.write(json.loads(outcome.text))
        outcomes.append(outcome)
    return outcomes[::-1]


def drives_a_screen(body: dict[str, Any]) -> bool:
    """Whether the request offers a computer-use tool (Anthropic ``computer_*``, OpenAI
    ``computer_use_preview``): the model then answers in the screenshot's own pixel coordinates, which a
    resized or re-laid-out image would make wrong, so its images pass as they are."""
    tools = body.get("tools")
    return isinstance(tools, list) and any(
        isinstance(tool, dict) and str(tool.get("type", "")).startswith("computer") for tool in tools)


def _decided(data: str, provider: str, detail: str | None, pipeline: Pipeline) -> Outcome:
    """The frozen decision for this image and provider (decided now if never seen), as an outcome whose
    original is the image's base64 text: what its ID names and what the store keeps."""
    if not pipeline.lossy:  # no store: a marker could never be redeemed, so the image stays
        return Outcome(data, data)
    key = f"image {provider} {detail or '-'}\n{data}"

    def compress() -> Outcome:
        new = compressed(data, provider, detail)
        if new is None:
            return Outcome(key, key)
        return Outcome(key, json.dumps(new, sort_keys=True), ENGINE, KIND, new["id"], stored=data)

    frozen = pipeline.run_keyed(key, compress)
    if not frozen.changed:
        return Outcome(data, data)
    return Outcome(data, frozen.text, ENGINE, KIND, frozen.part_id)


def compressed(data: str, provider: str, detail: str | None) -> dict[str, Any] | None:
    """What to write for a base64 image, or None to leave it: the new image, its marker, the tokens."""
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None
    decision = deciding.decide(raw, provider, detail)
    if not decision.changed:
        return None
    part_id = ccr_id(data)
    return {
        "id": part_id, "media_type": decision.media_type, "detail": decision.detail,
        "data": base64.b64encode(decision.data).decode("ascii"),
        "tokens_before": decision.tokens_before, "tokens_after": decision.tokens_after,
        "marker": marker(part_id, describe(decision)),
    }


def describe(decision: deciding.Decision) -> str:
    """e.g. 'image 1920x1080 (screen, empty margins and bands cut) sent as 512x897 WebP, 1,105 → 425 image
    tokens; original'."""
    (w, h), (nw, nh) = decision.size_before, decision.size_after
    laid = {"trimmed": ", empty margins and bands cut", "stacked": ", empty space cut and columns stacked top to bottom",
            "reflowed": ", text lines re-packed in one column in reading order, long lines wrapped, positions changed"}
    return (f"image {w}x{h} ({decision.kind}{laid.get(decision.layout, '')}) sent as {nw}x{nh} "
            f"{_FORMAT.get(decision.media_type, decision.media_type)}"
            + (" detail low" if decision.detail else "")
            + f", {decision.tokens_before:,} → {decision.tokens_after:,} image tokens; original")


def billed_data_image(block: dict[str, Any], provider: str) -> int:
    """What one image block bills (0 for a URL image or bytes that are not an image): read from its header."""
    api = _API_BY_IMAGE_BLOCK.get(block.get("type"))
    found = ImageSlot([block], 0, api).read() if api else None
    if found is None:
        return 0
    try:
        size = deciding.image_size(base64.b64decode(found[0], validate=True))
    except (binascii.Error, ValueError):
        return 0
    return tokens.billed(provider, *size, found[1]) if size else 0


def tokens_of(outcome: Outcome) -> tuple[int, int] | None:
    """Billed image tokens before and after, for an image outcome (the ledger counts these)."""
    if outcome.engine != ENGINE or not outcome.changed:
        return None
    new = json.loads(outcome.text)
    return new["tokens_before"], new["tokens_after"]
