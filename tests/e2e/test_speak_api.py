"""The Speak tab through its public API with gradio_client: speak a paragraph, find the take, get errors."""
from __future__ import annotations

import re

import pytest
from gradio_client import Client

from tests.conftest import NO_TTS

pytestmark = pytest.mark.e2e
pytest.importorskip("piper", reason=NO_TTS)

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
    assert len(rows) >= 3 and sum(row[8].startswith("kept") for row in rows) == 3  # three sentences
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


def _take_id(status: str) -> int:
    match = re.search(r"take \*\*#(\d+)\*\*", status)
    assert match, status
    return int(match.group(1))


def test_fix_a_chunk_choose_an_attempt_and_compare_through_the_api(client):
    *_, scores, status = client.predict(1, 0, PARAGRAPH, "piper-joe-embedded", 5, 1.0, "", False, api_name="/speak")
    original = _take_id(status)
    first_rows = {row[0]: row for row in scores["data"]}  # chunk number -> its (only, kept) attempt
    assert sorted(first_rows) == [1, 2, 3]

    final, rows, status, picked, _ = client.predict(original, 2, 1234, True, 1, api_name="/regenerate_chunk")
    fixed = _take_id(status)
    assert fixed != original and final
    assert (picked.get("value") if isinstance(picked, dict) else picked) == fixed  # the picker shows the new take
    assert f"Made from take #{original}: chunk 2 spoken again with seed 1234" in status
    by_chunk = {}
    for row in rows["data"]:
        by_chunk.setdefault(row[0], []).append(row)
    assert sorted(by_chunk) == [1, 2, 3]
    assert [r[1] for r in by_chunk[1]] == [first_rows[1][1]] and [r[1] for r in by_chunk[3]] == [first_rows[3][1]]
    assert by_chunk[2][0][3] == 1234 and any(r[8].startswith("kept") for r in by_chunk[2])

    *_, status, _, _ = client.predict(first_rows[2][1], fixed, 1, api_name="/choose_attempt")
    back = _take_id(status)
    assert f"chunk 2 is now attempt #{first_rows[2][1]}" in status

    player_a, player_b, table = client.predict(original, fixed, api_name="/compare_takes")
    assert player_a and player_b
    rows = {row[0]: row for row in table["data"]}
    assert rows["take"][1:3] == [f"#{original} speech", f"#{fixed} speech"]
    assert rows["seed"][1] == rows["seed"][2] == 5 and rows["chunks"][1:3] == [3, 3]
    assert rows["quality gate"][1:3] == [False, True]
    assert rows["made from"][2] == f"#{original}, chunk 2 spoken again"
    _, table, *_ = client.predict(1, 0, False, 1, api_name="/list_takes")
    kinds = {row[0]: row[2] for row in table["data"]}
    assert kinds[original] == kinds[fixed] == kinds[back] == "speech"
    with pytest.raises(Exception, match="Chunk must be a number from 1 to 3"):
        client.predict(original, 9, None, False, 1, api_name="/regenerate_chunk")
    with pytest.raises(Exception, match="Choose take B"):
        client.predict(original, None, api_name="/compare_takes")
