"""A person in Chromium on the Edit tab: import a real recording, transcribe it, make three edits (delete,
replace, insert) in one pass, hear the new take, check it reads as edited, and go back to the intact original."""
from __future__ import annotations

import re

import pytest

from pipelines.scoring import word_error_rate
from tests.conftest import NO_TTS, speech_clip
from tests.e2e.conftest import save_screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
playwright = pytest.importorskip("playwright.sync_api")
pytest.importorskip("piper", reason=NO_TTS)

CLIP = "coqui_lj_LJ001-0016"


def textarea_value(page, selector: str) -> str:
    return page.locator(f"{selector} textarea").input_value()


def test_three_edits_in_one_pass_in_the_browser(page, running_app):
    expect = playwright.expect
    app = running_app
    page.goto(app.url)
    page.get_by_role("tab", name="Edit").click()
    page.get_by_text("…or bring in a recording").click()
    page.locator("#edit-upload input[type=file]").set_input_files(str(speech_clip(CLIP)))
    expect(page.locator("#edit-upload audio, #edit-upload .waveform-container").first).to_be_attached(timeout=30_000)
    page.locator("#edit-import").click()
    expect(page.locator("#edit-summary")).to_contain_text("Not transcribed yet", timeout=30_000)

    page.locator("#edit-transcribe").click()
    expect(page.locator("#edit-summary")).to_contain_text("words with timings", timeout=120_000)
    original = textarea_value(page, "#edit-text")
    words = original.split()
    assert len(words) >= 10, original

    edited_words = list(words)
    edited_words[1] = "wonderful"      # replace
    del edited_words[5]                # delete
    edited_words.insert(8, "quietly")  # insert
    edited = " ".join(edited_words)
    page.locator("#edit-text textarea").fill(edited)
    expect(page.locator("#edit-diff")).to_contain_text("quietly", timeout=30_000)

    # A fixed seed, so the inserted words (and what Whisper hears in them) are the same on every run; the
    # number field this box replaced sent 0 whether or not anyone typed it.
    page.locator("#edit-seed :is(input, textarea)").fill("0")
    page.locator("#edit-apply").click()
    summary = page.locator("#edit-summary")
    expect(summary).to_contain_text("Saved as take", timeout=180_000)
    text = summary.inner_text()
    for kind in ("delete", "replace", "insert"):
        assert re.search(rf"\b{kind}\b", text), text
    click = float(re.search(r"worst seam click ratio ([0-9.]+)", text).group(1))
    assert click <= 1.0, text
    # every edit shows what the recogniser heard at its seam, with a verdict
    verdicts = re.findall(r"\b(clean|remnant|clipped|not heard|unclear): “", text)
    assert "seam check" in text and len(verdicts) == 3, text
    expect(page.locator("#edit-result")).to_contain_text(re.compile(r"0:0[1-9]"), timeout=30_000)
    save_screenshot(page, "edit-tab.png")

    page.locator("#edit-follow").click()  # continue with the new take, and let the ASR read it
    expect(page.locator("#edit-summary")).not_to_contain_text("Saved as take", timeout=30_000)
    page.locator("#edit-retranscribe").click()
    expect(page.locator("#edit-summary")).to_contain_text("words with timings", timeout=120_000)
    heard = textarea_value(page, "#edit-text")
    assert "wonderful" in heard.lower() and "quietly" in heard.lower(), heard
    assert word_error_rate(edited, heard) <= 0.25, (edited, heard)

    page.locator("#edit-back").click()  # one click back to the untouched original and its transcript
    expect(page.locator("#edit-text textarea")).to_have_value(original, timeout=30_000)
    assert "Traceback" not in page.content()


def test_edit_tab_refuses_an_edit_that_deletes_everything(page, running_app):
    app = running_app
    page.goto(app.url)
    page.get_by_role("tab", name="Edit").click()
    page.get_by_text("…or bring in a recording").click()
    page.locator("#edit-upload input[type=file]").set_input_files(str(speech_clip("coqui_lj_LJ001-0008")))
    # wait for the upload to land before importing it (clicking first imported nothing, now and then)
    playwright.expect(page.locator("#edit-upload audio, #edit-upload .waveform-container").first).to_be_attached(
        timeout=30_000)
    page.locator("#edit-import").click()
    try:
        playwright.expect(page.locator("#edit-summary")).to_contain_text("Not transcribed yet", timeout=30_000)
    except AssertionError:
        raise AssertionError(f"summary: {page.locator('#edit-summary').inner_text()!r}; "
                             f"toasts: {page.locator('.toast-body').all_inner_texts()}") from None
    page.locator("#edit-transcribe").click()
    playwright.expect(page.locator("#edit-summary")).to_contain_text("words with timings", timeout=120_000)
    page.locator("#edit-text textarea").fill("")
    page.locator("#edit-apply").click()
    try:
        playwright.expect(page.get_by_text(re.compile("delete everything", re.I)).first).to_be_visible(timeout=30_000)
    except AssertionError:
        toasts = page.locator(".toast-body").all_inner_texts()
        raise AssertionError(f"expected the 'delete everything' message; the page shows {toasts}") from None
