"""A real browser ``EventSource`` on a durable stream, in headless Chromium, through ``make
dev``'s emulator: it replays an abandoned answer, follows it live to ``done``, then
reconnects by itself with ``Last-Event-ID`` and stops at the gateway's ``204``."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from tests.e2e.emulator import Emulator
from tests.e2e.test_browser import SHORT, browser  # noqa: F401 - the module's browser fixture

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

# Opens an EventSource on the stream and gathers what a page would see, until the browser
# gives up on it (a 204 closes it for good); also the Last-Event-ID it last knew.
LISTEN = """(path) => new Promise((resolve) => {
  const seen = { opens: 0, names: [], texts: [], lastId: null, done: 0 };
  const source = new EventSource(path);
  source.onopen = () => { seen.opens += 1; };
  for (const name of ["meta", "delta", "done", "error"]) {
    source.addEventListener(name, (event) => {
      if (!event.data) return;  // a connection error, not an event of the stream
      seen.names.push(name);
      seen.lastId = event.lastEventId;
      const data = JSON.parse(event.data);
      if (name === "delta") seen.texts.push(data.text);
      if (name === "done") seen.done += 1;
    });
  }
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) resolve(seen);
  };
})"""


@pytest.fixture
def page(browser: Browser, slow_emulator: Emulator) -> Iterator[Page]:  # noqa: F811
    opened = browser.new_page()
    opened.goto(f"{slow_emulator.url}/health")
    try:
        yield opened
    finally:
        opened.close()


def _abandon(url: str, text: str) -> tuple[str, str]:
    """POST a stream, drop it after its third delta: its id, and the last event id seen."""
    got = b""
    with (
        httpx.Client(timeout=30) as client,
        client.stream("POST", f"{url}/chat", json={"messages": [
            {"role": "user", "content": text}]}) as response,
    ):  # fmt: skip
        stream_id = response.headers["x-llmrelay-stream-id"]
        for chunk in response.iter_raw():
            got += chunk
            if got.count(b"event: delta") >= 3 and got.endswith(b"\n\n"):
                break
    return stream_id, re.findall(rb"^id: (\d+)$", got, re.M)[-1].decode()


def test_an_event_source_replays_follows_and_stops_at_204(
    page: Page, slow_emulator: Emulator
) -> None:
    stream_id, _ = _abandon(slow_emulator.url, SHORT)
    seen: dict[str, Any] = page.evaluate(LISTEN, f"/chat/{stream_id}")
    assert "".join(seen["texts"]) == SHORT
    assert seen["done"] == 1  # the reconnection brought nothing twice
    assert seen["names"][0] == "meta"
    assert seen["opens"] == 1  # the second connection was the 204, which never "opens"
    pattern = re.compile(rf"GET /chat/{re.escape(stream_id)} (\d+)")
    resumes: list[str] = []
    for _ in range(40):  # the emulator logs a request once it has ended
        resumes = pattern.findall(Path(slow_emulator.log).read_text(encoding="utf-8"))
        if len(resumes) >= 2:
            break
        time.sleep(0.05)
    assert resumes == ["200", "204"]  # it came back by itself, with its Last-Event-ID
    assert json.dumps(seen["lastId"]) != "null"
