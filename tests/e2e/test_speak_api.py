"""The Speak tab through its public API with gradio_client: speak a paragraph, find the take, get errors."""
from __future__ import annotations

import re

import pytest
from gradio_client import Client

pytestmark = pytest.mark.e2e
pytest.importorskip("piper")

PARAGRAPH = ("Retake speaks what you type. The first sentence plays while the next ones are made. "
             "When it is done, the whole paragraph is kept as one take.")


@pytest.fixture(scope="module")
def client(running_app):
    return Client(running_app.url, verbose=False)


def test_speak_a_paragraph_then_find_the_speech_take(client):
    stream, final, scores, status = client.predict(1, 0, PARAGRAPH, "piper-joe-embedded", 11, 1.0, "", True,
                                                   api_name="/speak")
    match = re.search(r"take \*\*#(\d+)\*\*", status)
    assert match, status
    take_id = int(match.group(1))
    assert final  # a file path for the whole take
    rows = scores["data"]
    assert len(rows) >= 3 and sum(row[-1].startswith("kept") for row in rows) == 3  # three sentences
    summary, table, *_ = client.predict(1, 0, False, 1, api_name="/list_takes")
    by_id = {row[0]: row for row in table["data"]}
    assert by_id[take_id][2] == "speech"
    assert [row[2] for row in table["data"]].count("attempt") >= 3


def test_character_count_and_empty_text_refusal(client):
    assert client.predict("Hello", api_name="/count_characters").startswith("5 / 100,000")
    with pytest.raises(Exception, match=re.compile("Type some text", re.I)):
        client.predict(1, 0, "  ...  ", "piper-joe-embedded", None, 1.0, "", False, api_name="/speak")
    with pytest.raises(Exception, match="100,000"):
        client.predict(1, 0, "a " * 50_001, "piper-joe-embedded", None, 1.0, "", False, api_name="/speak")
