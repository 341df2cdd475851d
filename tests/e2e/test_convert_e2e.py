"""Convert through the public API (gradio_client) and in Chromium: a real recording re-spoken in a library
voice, stored as a take, with readable refusals."""
from __future__ import annotations

import re

import pytest
import soundfile as sf
from gradio_client import Client, handle_file

from tests.conftest import speech_clip
from tests.e2e.conftest import save_screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(__import__("importlib").util.find_spec("pyworld") is None,
                                                  reason="pyworld not installed")]

SOURCE = "coqui_lj_LJ001-0006"
TARGET = "resemblyzer_ls_6848-252322-0000"


def _make_voice(client: Client, name: str) -> None:
    status, *_ = client.predict(1, [handle_file(str(speech_clip(TARGET)))], None, name, "en", "", False, True,
                                api_name="/create_voice")
    assert name in status


def _voice_id(client: Client, name: str) -> int:
    table, _ = client.predict(1, api_name="/list_voices")
    return next(int(row[0]) for row in table["data"] if row[1] == name)


def test_convert_an_upload_through_the_api(running_app):
    client = Client(running_app.url, verbose=False)
    _make_voice(client, "Deep")
    voice_id = _voice_id(client, "Deep")
    before, after, report, _ = client.predict(1, None, handle_file(str(speech_clip(SOURCE))), voice_id,
                                              "world-matcher", 0, True, True, api_name="/convert")
    assert "Saved as take" in report and "Similarity to the voice" in report
    source_info, result_info = sf.info(before), sf.info(after)
    assert abs(result_info.duration - source_info.duration) < 0.01
    # Bad requests come back as readable messages and store nothing.
    with pytest.raises(Exception, match=re.compile("Choose the voice", re.I)):
        client.predict(1, None, handle_file(str(speech_clip(SOURCE))), None, "world-matcher", 0, True, True,
                       api_name="/convert")
    with pytest.raises(Exception, match=re.compile("already sounds like", re.I)):
        client.predict(1, None, handle_file(str(speech_clip(TARGET))), voice_id, "world-matcher", 0, True, True,
                       api_name="/convert")
    with pytest.raises(Exception, match=re.compile("maximum value 12|semitones", re.I)):
        client.predict(1, None, handle_file(str(speech_clip(SOURCE))), voice_id, "world-matcher", 30, True, True,
                       api_name="/convert")


def test_convert_a_recording_in_the_browser(page, running_app):
    playwright = pytest.importorskip("playwright.sync_api")
    _make_voice(Client(running_app.url, verbose=False), "Deeper")
    page.goto(running_app.url)
    page.get_by_role("tab", name="Convert").click()
    page.locator("#convert-upload input[type=file]").set_input_files(str(speech_clip(SOURCE)))
    page.locator("#convert-voice input").click()
    page.get_by_role("option", name=re.compile("Deeper")).first.click()
    page.locator("#convert-run").click()
    report = page.locator("#convert-report")
    playwright.expect(report).to_contain_text("Saved as take", timeout=120_000)
    playwright.expect(report).to_contain_text("Similarity to the voice")
    playwright.expect(page.locator("#convert-after")).to_contain_text(re.compile(r"0:0[1-9]"), timeout=30_000)
    save_screenshot(page, "convert-tab.png")


def test_speak_in_a_voice_is_matched_unless_asked_not_to(running_app):
    """The Speak endpoint's last input, "Match the voice", defaults to on: callers that send the eight older
    inputs get matched speech; sending False gives the closest built-in voice."""
    client = Client(running_app.url, verbose=False)
    _make_voice(client, "Spoken")
    voice_id = _voice_id(client, "Spoken")
    line = "The lighthouse keeper climbed the stairs."
    *_, matched = client.predict(1, voice_id, line, "piper-joe-embedded", 1, 1.0, "", False, api_name="/speak")
    *_, plain = client.predict(1, voice_id, line, "piper-joe-embedded", 1, 1.0, "", False, False, api_name="/speak")
    assert "matched to Spoken (matched, not cloned)" in matched
    assert "closest built-in voice, not a clone" in plain
