"""The Responses API's output items, built from llmrelay's blocks, and the reasoning item's
``encrypted_content``, which carries a reasoning block's opaque data to the client and back.

An answer's blocks become output items, one each and in order: a text block a ``message``
item (``role: "assistant"``, one ``output_text`` part), a reasoning block a ``reasoning``
item (its text as one ``summary_text`` part, its signature or redacted data in
``encrypted_content``), a tool call a ``function_call`` item (``call_id`` is the upstream's
call id, ``arguments`` its JSON text, unchanged).

``encrypted_content`` is the block's signature as it is when the block has nothing else
opaque (Anthropic's and Bedrock's thinking); redacted reasoning, alone or with a signature,
is wrapped as ``llmrelay.v1.`` + base64url of ``{"signature"?, "redacted"}``, so that
reading it back (:func:`opaque_of`) tells the two apart. Pure.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Final, Literal

from llmrelay.events import Block, BlockKind, ReasoningBlock, TextBlock

__all__ = ["ENVELOPE", "Status", "encrypted_content", "item_id", "opaque_of", "output_item"]

ENVELOPE: Final = "llmrelay.v1."
Status = Literal["in_progress", "completed", "incomplete"]
_PREFIXES: Final[dict[BlockKind, str]] = {"text": "msg", "reasoning": "rs", "tool_call": "fc"}


def item_id(answer_id: str, kind: BlockKind, position: int) -> str:
    """A stable id for the ``position``-th output item of an answer (``msg_``, ``rs_``,
    ``fc_``, as OpenAI's are)."""
    return f"{_PREFIXES[kind]}_{answer_id}_{position}"


def encrypted_content(block: ReasoningBlock) -> str | None:
    """The block's opaque data as one string (``None`` when it has none)."""
    if block.redacted is None:
        return block.signature
    opaque = {"signature": block.signature, "redacted": block.redacted}
    kept = {name: value for name, value in opaque.items() if value is not None}
    raw = json.dumps(kept, separators=(",", ":")).encode()
    return ENVELOPE + base64.urlsafe_b64encode(raw).decode("ascii")


def opaque_of(value: str) -> tuple[str | None, str | None]:
    """``(signature, redacted)`` from an ``encrypted_content``; raises ``ValueError`` on a
    broken envelope."""
    if not value.startswith(ENVELOPE):
        return value, None
    try:
        decoded = json.loads(base64.urlsafe_b64decode(value.removeprefix(ENVELOPE)))
    except (binascii.Error, ValueError):
        raise ValueError("is not an encrypted_content llmrelay gave") from None
    if not isinstance(decoded, dict):
        raise ValueError("is not an encrypted_content llmrelay gave")
    signature, redacted = decoded.get("signature"), decoded.get("redacted")
    if not all(isinstance(v, str | None) for v in (signature, redacted)) or redacted is None:
        raise ValueError("is not an encrypted_content llmrelay gave")
    return signature, redacted


def _output_text(text: str) -> dict[str, object]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def output_item(ident: str, block: Block, status: Status = "completed") -> dict[str, object]:
    """The item of a whole block (``status`` ``in_progress`` with empty content: the item
    as ``response.output_item.added`` announces it)."""
    opening = status == "in_progress"
    if isinstance(block, TextBlock):
        content = [] if opening else [_output_text(block.text)]
        return {
            "type": "message",
            "id": ident,
            "status": status,
            "role": "assistant",
            "content": content,
        }
    if isinstance(block, ReasoningBlock):
        item: dict[str, object] = {"type": "reasoning", "id": ident, "summary": []}
        if block.text and not opening:
            item["summary"] = [{"type": "summary_text", "text": block.text}]
        opaque = None if opening else encrypted_content(block)
        if opaque is not None:
            item["encrypted_content"] = opaque
        return {**item, "status": status}
    return {
        "type": "function_call",
        "id": ident,
        "call_id": block.id,
        "name": block.name,
        "arguments": "" if opening else block.arguments,
        "status": status,
    }
