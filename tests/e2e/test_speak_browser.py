"""A person in Chromium on the Speak tab: type text, see the count, generate, hear it, see the scores."""
from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import save_screenshot

pytestmark = pytest.mark.e2e
playwright = pytest.importorskip("playwright.sync_api")
pytest.importorskip("piper")

TEXT = "Welcome to Retake. This paragraph was typed in the browser and spoken by Piper."


def test_speak_tab_generates_a_take_with_scores(page, app_factory):
    app = app_factory()
    page.goto(app.url)
    expect = playwright.expect
    expect(page.get_by_role("tab", name="Speak")).to_have_attribute("aria-selected", "true")  # the first tab
    page.locator("#speak-text textarea").fill(TEXT)
    expect(page.locator("#speak-count")).to_contain_text(f"{len(TEXT)} / 100,000 characters")
    page.locator("#speak-run").click()
    status = page.locator("#speak-status")
    expect(status).to_contain_text("Saved as take", timeout=120_000)
    scores = page.locator("#speak-scores")
    expect(scores).to_contain_text("kept", timeout=30_000)
    expect(page.locator("#speak-final")).to_contain_text(re.compile(r"0:0[1-9]"), timeout=30_000)
    assert "Traceback" not in page.content()
    shot = save_screenshot(page, "speak-tab.png")
    assert shot.stat().st_size > 10_000


def test_speak_tab_shows_a_readable_error_for_empty_text(page, app_factory):
    app = app_factory()
    page.goto(app.url)
    page.locator("#speak-text textarea").fill("...")
    page.locator("#speak-run").click()
    playwright.expect(page.get_by_text("Type some text to speak")).to_be_visible(timeout=30_000)
