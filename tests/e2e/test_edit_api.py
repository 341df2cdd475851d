"""Editing through the public API with gradio_client: import, transcribe, edit by text, waveform edits,
join, go back — and readable errors for bad requests."""
from __future__ import annotations

import re

import pytest
import soundfile as sf
from gradio_client import Client, handle_file

from tests.conftest import speech_clip

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
CLIP = "coqui_lj_LJ001-0016"


@pytest.fixture(scope="module")
def client(running_app):
    return Client(running_app.url, verbose=False)


def imported_take(client) -> int:
    take_update, _ = client.predict(1, handle_file(str(speech_clip(CLIP))), api_name="/import_for_edit")
    return int(take_update["value"] if isinstance(take_update, dict) else take_update)


def new_take_id(summary: str) -> int:
    return int(re.search(r"take \*\*#(\d+)\*\*", summary).group(1))


def seconds(path: str) -> float:
    info = sf.info(path)
    return info.frames / info.samplerate


def test_delete_a_word_through_the_api_then_go_back(client):
    take = imported_take(client)
    text, _, note = client.predict(take, "whisper-base-embedded", api_name="/transcribe_take")
    assert "words with timings" in note
    words = text.split()
    edited = " ".join(words[:2] + words[3:])
    preview = client.predict(take, edited, api_name="/preview_edit")
    assert any(item.get("class_or_confidence") == "deleted" for item in preview)
    result, _, summary, *_ = client.predict(1, take, edited, "piper-joe-embedded", None, api_name="/apply_edit")
    new_id = new_take_id(summary)
    original_path, *_ = client.predict(take, api_name="/load_for_edit")
    assert seconds(result) < seconds(original_path)
    assert client.predict(new_id, api_name="/edit_parent") == take


def test_waveform_edit_and_join_through_the_api(client):
    take = imported_take(client)
    _, _, summary, *_ = client.predict(1, take, "trim", 0.5, 2.5, 0.0, api_name="/waveform_edit")
    trimmed = new_take_id(summary)
    result, _, summary, *_ = client.predict(1, [take, trimmed], 0.5, api_name="/join_takes")
    assert "Joined 2 takes" in summary
    assert seconds(result) > 2.0 + 0.5 + 5.0


def test_bad_edit_requests_are_refused_readably(client):
    take = imported_take(client)
    with pytest.raises(Exception, match=re.compile("transcribe it first", re.I)):
        client.predict(1, take, "hello there", "piper-joe-embedded", None, api_name="/apply_edit")
    with pytest.raises(Exception, match=re.compile("original", re.I)):
        client.predict(take, api_name="/edit_parent")
    with pytest.raises(Exception, match=re.compile("region inside the take", re.I)):
        client.predict(1, take, "cut", 2.0, 1.0, 0, api_name="/waveform_edit")
