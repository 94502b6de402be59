"""The web page in a real browser: Debian's headless Chromium driven by Playwright, against a
real uvicorn server over the real engine and a real catalogue slice.

Screenshots land in test-artifacts/ (git-ignored): web.png (desktop) and web-phone.png.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from pathlib import Path

import pytest
from test_api import SQL, api_settings, load_slice

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CREDIT = "This service uses the ESCO classification of the European Commission."


@pytest.fixture(scope="module")
def base_url(engine, shared_dir, tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium to run the browser test")
    import uvicorn

    from skillpath.api.app import create_app

    service = load_slice(engine, shared_dir, tmp_path_factory.mktemp("web-slice"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(service=service, settings=api_settings(service)),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


def _choose(page, input_name: str, text: str, option: re.Pattern[str]) -> None:
    """Type into a combobox, wait for the option, pick it with the keyboard."""
    from playwright.sync_api import expect

    box = page.get_by_role("combobox", name=input_name)
    box.fill(text)
    options = page.get_by_role("option")
    expect(options.first).to_be_visible(timeout=30_000)
    names = [o.inner_text() for o in options.all()]
    wanted = next(i for i, name in enumerate(names) if option.search(name))
    for _ in range(wanted + 1):
        box.press("ArrowDown")
    expect(box).to_have_attribute("aria-activedescendant", re.compile(rf"-opt-{wanted}$"))
    box.press("Enter")
    expect(box).to_have_attribute("aria-expanded", "false")


def _recommend(page, base_url: str) -> None:
    from playwright.sync_api import expect

    page.goto(base_url)
    expect(page.get_by_text(CREDIT)).to_be_visible()
    _choose(page, "Job you are aiming for", "data analyst", re.compile(r"^data analyst\b"))
    expect(page.locator("#target-chosen")).to_have_text("Target: data analyst")
    _choose(page, "Add a skill you have", "SQL", re.compile(r"^SQL\b"))
    chips = page.get_by_role("list", name="Skills you have added")
    expect(chips).to_contain_text("SQL")
    expect(page.get_by_role("button", name="Remove SQL")).to_be_visible()
    page.get_by_label("Language").select_option("en")
    page.get_by_role("button", name="Show my gap and recommendations").click()
    cards = page.locator(".card.explanation")
    expect(cards.first).to_be_visible(timeout=60_000)
    expect(page.locator("#status")).to_contain_text("recommendations for data analyst")


def test_pick_target_add_skill_get_explained_recommendations(browser, base_url):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    _recommend(page, base_url)

    gap = page.get_by_role("region", name=re.compile("Your skill gap for"))
    expect(gap.get_by_role("heading", name=re.compile(r"^Essential \(\d+\)"))).to_be_visible()
    expect(gap.get_by_role("heading", name=re.compile(r"^Optional \(\d+\)"))).to_be_visible()
    first = page.locator(".card.explanation").first
    expect(first.locator(".sentence")).not_to_be_empty()
    expect(first.locator("blockquote").first).to_be_visible()  # the evidence sentence
    pathway = page.get_by_role("region", name="Suggested pathway")
    expect(pathway.locator("meter")).to_be_visible()
    expect(pathway).to_contain_text("Gap covered:")
    assert all(u.startswith(base_url) for u in requests), "the page must only talk to its server"
    assert any(SQL.split("/")[-1] in u or "/v1/recommendations" in u for u in requests)

    # visible keyboard focus
    page.get_by_label("Time budget (hours)").focus()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", "")

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web.png"), full_page=True)
    page.close()


def test_phone_width_has_no_sideways_scroll(browser, base_url):
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    _recommend(page, base_url)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"page is {width}px wide on a 390px screen"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web-phone.png"), full_page=True)
    page.close()
