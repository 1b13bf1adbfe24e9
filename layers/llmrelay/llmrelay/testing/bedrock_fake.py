"""A fake Amazon Bedrock Runtime that speaks ConverseStream's real wire format.

``POST /model/<modelId>/converse-stream`` answers ``200`` with
``Content-Type: application/vnd.amazon.eventstream`` and a chunked body of binary
event-stream messages (:mod:`llmrelay.eventstream`, CRCs and all), in the order the
real service sends them::

    messageStart → [reasoning: contentBlockDelta(reasoningContent.text)* →
    contentBlockDelta(reasoningContent.signature) → contentBlockStop]
    → [per Reply.redacted: contentBlockDelta(reasoningContent.redactedContent) → stop]
    → text: contentBlockDelta(text)* → contentBlockStop
    → per tool call: contentBlockStart(toolUse) → contentBlockDelta(toolUse.input)*
    → contentBlockStop → messageStop(stopReason) → metadata(usage, metrics)

Only tool-use blocks get a ``contentBlockStart``, and ``contentBlockIndex`` counts every
block, reasoning included, as the real service does. Failures look like AWS's: before the
stream, a status with ``x-amzn-ErrorType`` and ``{"message"}`` (429 ``ThrottlingException``,
400 ``ValidationException``, 403 ``AccessDeniedException``, a 401 fault becomes 403
``UnrecognizedClientException``...); after it, an ``exception`` message
(``modelStreamErrorException`` unless the fault names another type); a ``malformed`` fault
sends a message whose CRC is wrong. boto3 itself parses all of it
(``endpoint_url=fake.url``, or ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``).

``Reply.input_tokens`` counts every input token, cached or not (llmrelay's meaning); the fake
sends Bedrock's split: ``inputTokens`` (uncached), ``cacheReadInputTokens``
(``Reply.cached_tokens``), ``cacheWriteInputTokens`` (``Reply.cache_write_tokens``), and a
``totalTokens`` of input + output. A signature is the script's (``Reply.signature``) or one
derived from the reasoning text; ``Reply.redacted`` holds base64 (the blob's bytes).

Every request is recorded with its JSON body (the Converse request: ``messages``,
``system``, ``inferenceConfig``, ``toolConfig``...; blobs base64 as botocore sends them) and
checked as Bedrock checks a Claude conversation: tool blocks need a ``toolConfig``,
reasoning handed back must carry the signature issued for its text, and redacted content must
be what was sent (else 400 ``ValidationException``). :func:`credential_of` reads the SigV4
signature's access key, region and service.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import struct
from typing import Any
from urllib.parse import unquote

from llmrelay.eventstream import event_message, exception_message, with_bad_checksum
from llmrelay.httpd import Request, ResponseWriter
from llmrelay.testing.anthropic_checks import Issued
from llmrelay.testing.upstream import FakeUpstream, Fault, RecordedRequest, Reply

__all__ = ["FakeBedrock", "credential_of", "model_of", "stop_reason_for"]

_ROUTE = re.compile(r"/model/(?P<model>[^/]+)/(?P<op>converse-stream|converse)")
_CREDENTIAL = re.compile(r"Credential=(?P<key>[^/]+)/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/")
# AWS's error code, and the status it really answers with, for a fault's scripted status.
_ERRORS: dict[int, tuple[int, str]] = {
    400: (400, "ValidationException"),
    401: (403, "UnrecognizedClientException"),
    403: (403, "AccessDeniedException"),
    404: (404, "ResourceNotFoundException"),
    408: (408, "ModelTimeoutException"),
    424: (424, "ModelErrorException"),
    429: (429, "ThrottlingException"),
    500: (500, "InternalServerException"),
    503: (503, "ServiceUnavailableException"),
    529: (503, "ServiceUnavailableException"),
}
_STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "content_filter": "content_filtered",
    "tool_calls": "tool_use",
}
_PADDING = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def stop_reason_for(finish_reason: str) -> str:
    """Bedrock's ``stopReason`` for a neutral (or already Bedrock) finish reason."""
    return _STOP_REASONS.get(finish_reason, finish_reason)


def credential_of(request: RecordedRequest | Request) -> tuple[str, str, str] | None:
    """``(access key id, region, service)`` of a SigV4-signed request, else ``None``."""
    match = _CREDENTIAL.search(request.headers.get("authorization", ""))
    return None if match is None else (match["key"], match["region"], match["service"])


def model_of(request: RecordedRequest | Request) -> str | None:
    """The model id of a Converse request, from its path."""
    match = _ROUTE.fullmatch(request.path)
    return None if match is None else unquote(match["model"])


def _error_of(fault: Fault) -> tuple[int, str]:
    status, code = _ERRORS.get(
        fault.status,
        (fault.status, "InternalServerException" if fault.status >= 500 else "ValidationException"),
    )
    if fault.error_type.endswith("Exception"):  # the script names an AWS error of its own
        code = fault.error_type
    return status, code


class FakeBedrock(FakeUpstream):
    """``with FakeBedrock() as fake:``; point boto3's ``endpoint_url`` at ``fake.url``.

    With ``access_key_id``, a request signed with any other key is refused as AWS does
    (403 ``UnrecognizedClientException``).
    """

    def __init__(self, default: Reply | None = None, *, access_key_id: str | None = None) -> None:
        super().__init__(default)
        self.access_key_id = access_key_id
        self.issued = Issued()
        self._ids = itertools.count(1)

    def __enter__(self) -> FakeBedrock:
        self.start()
        return self

    # -- documents -------------------------------------------------------------------------

    def _headers(self, content_type: str, error: str | None = None) -> list[tuple[str, str]]:
        headers = [("Content-Type", content_type), ("x-amzn-RequestId", f"fake-{next(self._ids)}")]
        if error is not None:
            headers.append(("x-amzn-ErrorType", f"{error}:http://internal.amazon.com/coral/"))
        return headers

    def error_response(self, fault: Fault) -> tuple[int, bytes, list[tuple[str, str]]]:
        status, code = _error_of(fault)
        headers = self._headers("application/json", code)
        if fault.retry_after is not None:
            headers.append(("Retry-After", fault.retry_after))
        return status, self.error_body(fault).encode(), headers

    def error_body(self, fault: Fault) -> str:
        return json.dumps({"message": fault.message})

    async def _refuse(self, response: ResponseWriter, status: int, code: str, text: str) -> None:
        body = json.dumps({"message": text}).encode()
        await response.send(status, body, self._headers("application/json", code))

    # -- answering -------------------------------------------------------------------------

    async def answer(
        self, request: Request, body: Any, reply: Reply, response: ResponseWriter
    ) -> None:
        route = _ROUTE.fullmatch(request.path)
        if request.method != "POST" or route is None or route["op"] != "converse-stream":
            await self._refuse(response, 404, "UnknownOperationException", "no such operation")
            return
        credential = credential_of(request)
        if credential is None or (self.access_key_id and credential[0] != self.access_key_id):
            text = "The security token included in the request is invalid."
            await self._refuse(response, 403, "UnrecognizedClientException", text)
            return
        problem = _request_problem(body, self.issued)
        if problem is not None:
            await self._refuse(response, 400, "ValidationException", problem)
            return
        await response.start(200, self._headers("application/vnd.amazon.eventstream"))
        events = self._events(reply)
        for position, message in enumerate(events):
            if position >= 1 and await self.fault_mid_stream(response, reply, position - 1):
                return
            await self.write_event(response, message, reply)
        await response.end()

    def _events(self, reply: Reply) -> list[bytes]:
        """The messages: messageStart (with the reasoning blocks), then one per text piece
        (the units a mid-stream fault counts: position ``n`` comes after ``n`` pieces), then
        the rest."""
        head = self._event("messageStart", {"role": "assistant"})
        index = 0
        if reply.reasoning or reply.signature:
            signature = self.issued.sign("".join(reply.reasoning), reply.signature)
            thoughts = [{"reasoningContent": {"text": text}} for text in reply.reasoning]
            thoughts.append({"reasoningContent": {"signature": signature}})
            head += b"".join(self._delta(index, thought) for thought in thoughts)
            head += self._event("contentBlockStop", {"contentBlockIndex": index})
            index += 1
        for data in reply.redacted:  # base64 of the opaque bytes, as botocore reads a blob
            self.issued.redacted.add(data)
            head += self._delta(index, {"reasoningContent": {"redactedContent": data}})
            head += self._event("contentBlockStop", {"contentBlockIndex": index})
            index += 1
        pieces = [self._delta(index, {"text": piece}) for piece in reply.pieces]
        if reply.pieces:
            pieces[-1] += self._event("contentBlockStop", {"contentBlockIndex": index})
            index += 1
        return [head, *pieces, self._tail(reply, index)]

    def _tail(self, reply: Reply, index: int) -> bytes:
        tail = b""
        for call in reply.tool_calls:
            start = {"toolUse": {"toolUseId": call.id, "name": call.name}}
            tail += self._event("contentBlockStart", {"start": start, "contentBlockIndex": index})
            for fragment in call.fragments:
                tail += self._delta(index, {"toolUse": {"input": fragment}})
            tail += self._event("contentBlockStop", {"contentBlockIndex": index})
            index += 1
        tail += self._event("messageStop", {"stopReason": stop_reason_for(reply.finish_reason)})
        read, write = reply.cached_tokens, reply.cache_write_tokens
        usage = {
            "inputTokens": max(reply.input_tokens - read - write, 0),
            "outputTokens": reply.completion_tokens,
            "totalTokens": reply.input_tokens + reply.completion_tokens,
        }
        if read or write:
            usage["cacheReadInputTokens"] = read
            usage["cacheWriteInputTokens"] = write
        return tail + self._event("metadata", {"usage": usage, "metrics": {"latencyMs": 42}})

    def _event(self, event_type: str, document: dict[str, Any]) -> bytes:
        # The real service pads every event ("p") so that its length says nothing.
        return event_message(event_type, {**document, "p": _PADDING[: 1 + len(event_type)]})

    def _delta(self, index: int, delta: dict[str, Any]) -> bytes:
        return self._event("contentBlockDelta", {"delta": delta, "contentBlockIndex": index})

    async def write_event(self, response: ResponseWriter, data: bytes, reply: Reply) -> None:
        """Write messages; with ``split_writes``, in two writes cut inside the first
        multi-byte character of a payload (else mid-message)."""
        if not reply.split_writes or len(data) < 16:
            await super().write_event(response, data, reply)
            return
        cut = _payload_cut(data)
        await super().write_event(response, data[:cut], Reply(piece_delay_s=reply.piece_delay_s))
        await asyncio.sleep(0.002)  # let the client read the first part on its own
        await response.write(data[cut:])

    malformed_event = with_bad_checksum(
        event_message("contentBlockDelta", {"delta": {"text": "?"}, "contentBlockIndex": 0})
    )

    def in_stream_error(self, fault: Fault) -> bytes:
        name = fault.error_type if fault.error_type.endswith("Exception") else ""
        name = name[:1].lower() + name[1:] if name else "modelStreamErrorException"
        document: dict[str, Any] = {"message": fault.message}
        if name == "modelStreamErrorException":
            document |= {"originalStatusCode": 500, "originalMessage": "model failed"}
        return exception_message(name, document)


def _request_problem(body: object, issued: Issued) -> str | None:
    """What Bedrock (for Claude) refuses in the turns handed back: tool blocks without a
    ``toolConfig``, a reasoning text whose signature is not the one issued for it, redacted
    content it never sent."""
    if not isinstance(body, dict):
        return None
    messages = body.get("messages")
    if not isinstance(messages, list):
        return None
    blocks = [b for m in messages for b in m.get("content") or () if isinstance(b, dict)]
    if any("toolUse" in b or "toolResult" in b for b in blocks) and not body.get("toolConfig"):
        return (
            "The toolConfig field must be defined when using toolUse and toolResult content blocks."
        )
    for number, message in enumerate(messages):
        for position, block in enumerate(message.get("content") or ()):
            reasoning = block.get("reasoningContent") if isinstance(block, dict) else None
            if not isinstance(reasoning, dict):
                continue
            where = f"messages.{number}.content.{position}"
            text = reasoning.get("reasoningText")
            if isinstance(text, dict) and issued.signatures.get(text.get("signature", "")) != (
                text.get("text")
            ):
                return f"The model returned the following errors: {where}: Invalid signature"
            redacted = reasoning.get("redactedContent")
            if redacted is not None and redacted not in issued.redacted:
                return f"The model returned the following errors: {where}: Invalid redacted data"
    return None


def _payload_cut(data: bytes) -> int:
    """Inside the first multi-byte UTF-8 character of any message's payload in ``data``, or
    in the middle of the first message when no payload has one."""
    at = 0
    while at + 12 <= len(data):
        total, headers = struct.unpack(">II", data[at : at + 8])
        start, end = at + 12 + headers, at + total - 4
        lead = next((i for i in range(start, end) if data[i] >= 0xC0), None)
        if lead is not None:
            return lead + 1
        at += total
    first: int = struct.unpack(">I", data[:4])[0]
    return first // 2
