"""The chat page in a real headless Chromium (Debian's ``chromium``, driven by Playwright),
served by ``make dev``'s emulator with a slow ``echo``: the answer grows in steps, Stop
aborts it, errors (an HTTP one and an in-band one) are shown to the person once, where the
answer would have been, and in a long chat the composer and Stop stay in view."""

from __future__ import annotations

import importlib.util
import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from tests.e2e.emulator import Emulator
from tests.e2e.tools import missing

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Records every text the newest answer shows, so a test can see it grow.
WATCH_ANSWER = """() => {
  window.answerSteps = [];
  const record = () => {
    const texts = [...document.querySelectorAll(".msg.assistant .text")];
    const text = texts.length ? texts[texts.length - 1].textContent : "";
    if (text && window.answerSteps[window.answerSteps.length - 1] !== text) {
      window.answerSteps.push(text);
    }
  };
  new MutationObserver(record).observe(document.getElementById("log"),
    { subtree: true, childList: true, characterData: true });
}"""
SHORT = "tokens arrive one by one and the page shows each as it comes"  # 12 x 120 ms
LONG = " ".join(f"word{n}" for n in range(60))  # longer than the slow emulator's deadline


def _chromium_path() -> Path:
    if importlib.util.find_spec("playwright") is None:
        missing("Playwright for Python", "make venv (it is a dev dependency)")
    found = CHROMIUM if CHROMIUM.exists() else Path(shutil.which("chromium") or CHROMIUM)
    if not found.exists():
        missing("Chromium", "sudo apt-get update && sudo apt-get install -y chromium")
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = _chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True, args=FLAGS)
        yield launched
        launched.close()


def _opened(browser: Browser, url: str, **options: Any) -> Iterator[Page]:
    context = browser.new_context(**options)  # a fresh profile: no storage carried between tests
    opened = context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(str(error)))
    opened.on("console", lambda message: _note_policy_violation(message, problems))
    opened.goto(f"{url}/")
    opened.get_by_label("Model", exact=True).locator("option", has_text="echo/echo").wait_for(
        state="attached"
    )
    yield opened
    context.close()
    assert problems == []  # no script error, no Content-Security-Policy refusal


@pytest.fixture
def page(browser: Browser, slow_emulator: Emulator) -> Iterator[Page]:
    yield from _opened(browser, slow_emulator.url)


@pytest.fixture
def small_page(browser: Browser, slow_emulator: Emulator) -> Iterator[Page]:
    """A small window (a phone on its side, a laptop split in two): a long chat overflows it."""
    yield from _opened(browser, slow_emulator.url, viewport={"width": 720, "height": 480})


def _note_policy_violation(message: Any, problems: list[str]) -> None:
    if "Content Security Policy" in message.text:
        problems.append(message.text)


def _send(page: Page, text: str) -> None:
    page.get_by_label("Message").fill(text)
    page.get_by_role("button", name="Send").click()


def _answers(page: Page) -> Any:
    return page.locator(".msg.assistant .text")


def _times_shown(page: Page, text: str) -> int:
    """How often ``text`` is on the screen (hidden elements do not count)."""
    shown: str = page.evaluate("document.body.innerText")
    return shown.count(text)


def _in_view(page: Page, selector: str) -> bool:
    """Whether the element's whole box is inside the window."""
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    assert box is not None
    assert size is not None
    return bool(
        box["y"] >= 0
        and box["y"] + box["height"] <= size["height"]
        and box["x"] >= 0
        and box["x"] + box["width"] <= size["width"]
    )


def test_the_answer_grows_in_steps_and_ends_with_usage_and_ttft(page: Page) -> None:
    page.evaluate(WATCH_ANSWER)
    _send(page, SHORT)
    status = page.get_by_role("status")
    status.filter(has_text="Answer complete").wait_for(timeout=10_000)
    steps: list[str] = page.evaluate("window.answerSteps")
    assert steps[-1] == SHORT
    assert len(steps) >= 6, steps
    assert all(after.startswith(before) for before, after in itertools.pairwise(steps))
    meta = page.locator(".msg.assistant .meta").last.text_content() or ""
    assert "tokens in" in meta
    assert "first token" in meta
    assert _times_shown(page, "tokens in") == 1  # under the answer, not again in the status
    assert page.get_by_role("button", name="Stop").is_disabled()


def test_stop_aborts_the_answer_mid_way(page: Page) -> None:
    _send(page, LONG)
    answer = _answers(page).last
    page.wait_for_function(
        "() => [...document.querySelectorAll('.msg.assistant .text')].pop()"
        ".textContent.split(' ').length > 3"
    )
    page.get_by_role("button", name="Stop").click()
    page.get_by_role("status").filter(has_text="Stopped").wait_for(timeout=5_000)
    shown = answer.text_content() or ""
    page.wait_for_timeout(500)  # four more words' worth of time: nothing more arrives
    assert answer.text_content() == shown
    assert LONG.startswith(shown)
    assert 0 < len(shown) < len(LONG)
    assert page.get_by_role("button", name="Send").is_enabled()
    assert page.get_by_role("alert").is_hidden()


def test_a_bad_model_shows_the_gateways_error(page: Page) -> None:
    page.get_by_label("Model", exact=True).select_option(label="Other…")
    page.get_by_label("Model name").fill("nope/model")
    _send(page, "hello")
    alert = page.get_by_role("alert")
    alert.wait_for(state="visible", timeout=5_000)
    message = alert.text_content() or ""
    assert message.startswith("unknown_model: unknown provider 'nope'")
    assert _times_shown(page, message) == 1
    assert page.locator(".msg.assistant").last.get_by_role("alert").is_visible()  # its place
    assert page.get_by_label("Message").input_value() == "hello"  # back in the box to retry


def test_an_error_in_the_stream_is_shown_after_the_text_so_far(page: Page) -> None:
    _send(page, LONG)
    alert = page.get_by_role("alert")
    alert.wait_for(state="visible", timeout=10_000)
    message = alert.text_content() or ""
    assert message.startswith("deadline_exceeded:")
    assert _times_shown(page, message) == 1
    assert _times_shown(page, "deadline_exceeded") == 1
    answer = page.locator(".msg.assistant").last
    assert answer.get_by_role("alert").is_visible()  # under the text that had arrived
    assert LONG.startswith(_answers(page).last.text_content() or "-")


def test_in_a_long_chat_stop_and_the_composer_stay_in_view_while_an_answer_streams(
    small_page: Page,
) -> None:
    page = small_page
    for turn in range(3):  # three tall questions and their answers: far more than a window
        words = " ".join(f"turn{turn}-{n}" for n in range(8))
        _send(page, words.replace(" ", "\n", 4))
        page.get_by_role("status").filter(has_text="Answer complete").wait_for(timeout=10_000)
    log_height = page.evaluate("document.getElementById('log').scrollHeight")
    assert log_height > page.viewport_size["height"]  # type: ignore[index]
    _send(page, LONG)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.msg.assistant .text')].pop()"
        ".textContent.split(' ').length > 4"
    )
    stop = page.get_by_role("button", name="Stop")
    assert stop.is_enabled()
    assert _in_view(page, "#stop")
    assert _in_view(page, "#prompt")
    # The conversation follows the answer: its newest text is inside the scrolled log.
    assert page.evaluate(
        """() => {
          const log = document.getElementById("log").getBoundingClientRect();
          const last = [...document.querySelectorAll(".msg.assistant .text")].pop();
          const text = last.getBoundingClientRect();
          return text.bottom <= log.bottom + 1 && text.bottom > log.top;
        }"""
    )
    stop.click()  # reachable where it is, without scrolling
    page.get_by_role("status").filter(has_text="Stopped").wait_for(timeout=5_000)


def test_the_echo_demo_shows_reasoning_folding_away_and_a_tool_call_forming(page: Page) -> None:
    page.evaluate(
        """() => {
          window.reasoningOpenWhileThinking = null;
          new MutationObserver(() => {
            const shown = document.querySelector(".msg.assistant .reasoning");
            const thought = shown && shown.querySelector(".thought").textContent;
            if (thought && window.reasoningOpenWhileThinking === null) {
              window.reasoningOpenWhileThinking = shown.open;
            }
          }).observe(document.getElementById("log"),
            { subtree: true, childList: true, characterData: true });
        }"""
    )
    _send(page, "/demo the weather in Zürich")
    page.get_by_role("status").filter(has_text="Answer complete").wait_for(timeout=15_000)
    assert page.evaluate("window.reasoningOpenWhileThinking") is True  # open as it streams
    reasoning = page.locator(".msg.assistant .reasoning").last
    assert reasoning.evaluate("(details) => details.open") is False  # folded once answered
    assert (reasoning.locator("summary").text_content() or "").startswith("Reasoning (")
    assert reasoning.locator(".thought").text_content()
    tool = page.locator(".msg.assistant .tool").last
    assert tool.is_visible()
    assert "Tool call: echo" in (tool.locator(".tool-name").text_content() or "")
    arguments = tool.locator(".args").text_content() or ""
    assert '"text": "the weather in Zürich"' in arguments  # pretty-printed when whole
    assert (_answers(page).last.text_content() or "").strip() == "the weather in Zürich"
    assert "finish: tool_calls" in (page.locator(".msg.assistant .meta").last.text_content() or "")


PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201fd2d2d8e0000000049454e44ae426082"
)


def test_an_attached_image_is_shown_and_sent_with_the_question(page: Page, tmp_path: Path) -> None:
    image = tmp_path / "dot.png"
    image.write_bytes(PNG_1PX)
    page.get_by_label("Image").set_input_files(str(image))
    assert page.get_by_text("Attached: dot.png").is_visible()
    _send(page, "what is in this picture")
    page.get_by_role("status").filter(has_text="Answer complete").wait_for(timeout=10_000)
    shown = page.locator(".msg.user img.attached").last
    assert shown.get_attribute("alt") == "Attached image dot.png"
    assert (shown.get_attribute("src") or "").startswith("data:image/png;base64,")
    # echo answers an image part with "[image]": the part reached the provider.
    assert "[image]" in (_answers(page).last.text_content() or "")
    assert page.get_by_text("Attached: dot.png").count() == 0  # the control is cleared
