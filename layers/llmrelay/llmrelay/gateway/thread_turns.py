"""A request's thread: the history loaded before the answer, the turn saved after it.

Loading happens before the first byte, so a store that cannot be read is a prompt 503
(answering without the history would be a wrong answer, given silently). Saving happens
after the answer went out and never fails the request: the log says what was not saved.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from llmrelay.durable.records import ThreadKey
from llmrelay.durable.store import DurableStore, StoreUnavailable
from llmrelay.durable.threads import Turn, decode_turn, encode_turn, history, merge
from llmrelay.events import Block, FinishReason
from llmrelay.gateway.logs import log_exception, log_record
from llmrelay.models import ChatRequest, Message, assistant_message

__all__ = ["RequestThread", "load_thread"]


@dataclass(frozen=True, slots=True)
class RequestThread:
    key: ThreadKey
    turns: int  # how many the thread held when the request came
    new: tuple[Message, ...]  # what this request adds before its answer

    async def save(
        self, store: DurableStore, blocks: Sequence[Block], reason: FinishReason | None
    ) -> None:
        """Append the request's turn (not for a failed answer: the client will retry)."""
        if reason is None:
            return
        answer = [assistant_message(blocks)] if any(_has_content(b) for b in blocks) else []
        turn = encode_turn(Turn((*self.new, *answer), reason, int(time.time())))
        number = self.turns
        try:
            for _ in range(3):  # a concurrent request may have taken the number
                if await store.add_turn(self.key, number, turn):
                    return
                number = max(number + 1, len(await store.get_turns(self.key)))
            log_record("WARNING", "thread: a turn could not find a free number; not saved")
        except StoreUnavailable as exc:
            log_exception("thread: the turn could not be saved", exc)


def _has_content(block: Block) -> bool:
    return not (block.kind == "text" and not getattr(block, "text", ""))


async def load_thread(
    store: DurableStore, owner: str, chat: ChatRequest
) -> tuple[ChatRequest, RequestThread | None]:
    """``chat`` with its thread's history in front (when it names a thread), and the thread."""
    if chat.thread_id is None:
        return chat, None
    key = ThreadKey(owner, chat.thread_id)
    stored = [decode_turn(data) for data in await store.get_turns(key)]
    messages, new = merge(history(stored), chat.messages)
    if len(messages) != len(chat.messages):
        chat = chat.model_copy(update={"messages": messages})
    return chat, RequestThread(key, len(stored), tuple(new))
