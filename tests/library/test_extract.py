"""``extract``: JSON matching a pydantic model, asked of real SDKs talking to the fakes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Literal

import pytest
from pydantic import BaseModel

from llmrelay import ChatRequest, extract
from llmrelay.config import Settings
from llmrelay.errors import InvalidRequest, UnsupportedParameter
from llmrelay.extract import ExtractionFailed, json_schema_of
from llmrelay.secrets import StaticSecrets
from llmrelay.testing import FakeAnthropic, FakeOpenAI, Reply
from llmrelay.tools import ResponseFormat

CONVERSATION = (
    "Ana: we must ship the login page by Friday, it blocks everyone. "
    "Ben: and someday we should tidy the old CSS."
)


class Flow(BaseModel):
    title: str
    description: str
    priority: Literal["low", "medium", "high"]


class Flows(BaseModel):
    flows: list[Flow]


class Loose(BaseModel):
    title: str
    note: str | None = None  # optional: a strict schema cannot say so


FLOWS = {
    "flows": [
        {"title": "Ship the login page", "description": "by Friday", "priority": "high"},
        {"title": "Tidy the old CSS", "description": "someday", "priority": "low"},
    ]
}


def pieces_of(document: object) -> tuple[str, ...]:
    """The JSON text in small pieces, cut anywhere (multi-byte characters included)."""
    text = json.dumps(document, ensure_ascii=False)
    return tuple(text[i : i + 7] for i in range(0, len(text), 7))


def ask(model: str) -> ChatRequest:
    system = {"role": "system", "content": "List the tasks in this conversation."}
    return ChatRequest.parse(
        {"model": model, "messages": [system, {"role": "user", "content": CONVERSATION}]}
    )


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def fake_anthropic() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as fake:
        yield fake


def openai_settings(fake: FakeOpenAI) -> Settings:
    return Settings.from_env({"LLMRELAY_OPENAI_BASE_URL": f"{fake.url}/v1"})


OPENAI_KEY = StaticSecrets({"OPENAI_API_KEY": "sk-test"})


async def test_flows_come_back_validated_from_openai(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue(Reply(pieces=pieces_of(FLOWS)))
    found = await extract(
        ask("openai/gpt-4o-mini"), Flows, settings=openai_settings(fake_openai), secrets=OPENAI_KEY
    )
    assert found == Flows.model_validate(FLOWS)
    sent = fake_openai.requests[-1].body["response_format"]
    assert sent["type"] == "json_schema"
    assert sent["json_schema"]["name"] == "Flows"
    assert sent["json_schema"]["strict"] is True
    assert sent["json_schema"]["schema"] == json_schema_of(Flows)[0]


async def test_flows_come_back_validated_from_anthropic(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.queue(Reply(pieces=pieces_of(FLOWS)))
    settings = Settings.from_env({"LLMRELAY_ANTHROPIC_BASE_URL": fake_anthropic.url})
    secrets = StaticSecrets({"ANTHROPIC_API_KEY": "sk-ant-test"})
    found = await extract(
        ask("anthropic/claude-sonnet-4-6"), Flows, settings=settings, secrets=secrets
    )
    assert found == Flows.model_validate(FLOWS)
    body = fake_anthropic.requests[-1].body
    assert body["output_config"]["format"]["type"] == "json_schema"


def test_a_schema_with_optional_fields_is_not_strict_and_every_object_is_closed() -> None:
    schema, strict = json_schema_of(Loose)
    assert strict is False
    assert schema["additionalProperties"] is False
    schema, strict = json_schema_of(Flows)
    assert strict is True
    assert schema["$defs"]["Flow"]["additionalProperties"] is False


async def test_an_answer_that_does_not_match_keeps_its_text(fake_openai: FakeOpenAI) -> None:
    wrong = {"flows": [{"title": "x", "description": "y", "priority": "urgent"}]}
    fake_openai.queue(Reply(pieces=pieces_of(wrong)))
    with pytest.raises(ExtractionFailed) as caught:
        await extract(
            ask("openai/gpt-4o-mini"),
            Flows,
            settings=openai_settings(fake_openai),
            secrets=OPENAI_KEY,
        )
    assert caught.value.text == json.dumps(wrong)
    assert "flows.0.priority" in caught.value.message
    assert (caught.value.code, caught.value.status) == ("extraction_failed", 502)


async def test_an_answer_cut_at_max_tokens_says_so(fake_openai: FakeOpenAI) -> None:
    fake_openai.queue(Reply(pieces=('{"flows": [',), finish_reason="length"))
    with pytest.raises(ExtractionFailed, match="max_tokens") as caught:
        await extract(
            ask("openai/gpt-4o-mini"),
            Flows,
            settings=openai_settings(fake_openai),
            secrets=OPENAI_KEY,
        )
    assert caught.value.reason == "length"


async def test_a_request_with_its_own_response_format_is_refused() -> None:
    own = ResponseFormat.model_validate({"type": "json_object"})
    request = ask("echo/echo").model_copy(update={"response_format": own})
    with pytest.raises(InvalidRequest, match="response_format"):
        await extract(request, Flows)


async def test_what_the_provider_cannot_do_is_refused_before_any_call() -> None:
    settings = Settings.from_env({"LLMRELAY_ANTHROPIC_BASE_URL": "http://127.0.0.1:9"})
    request = ask("anthropic/claude-sonnet-4-6").model_copy(update={"seed": 7})
    with pytest.raises(UnsupportedParameter) as caught:
        await extract(request, Flows, settings=settings, secrets=StaticSecrets({}))
    assert caught.value.param == "seed"
