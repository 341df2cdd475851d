"""Words inserted into a real recording by the Edit use case with the offline engine: matched to the
recording by the voice matcher (by default), they sound more like it than the unmatched built-in voice and
are still heard."""
from __future__ import annotations

import pytest

from pipelines.scoring import wer_words
from tests.conftest import NO_TTS, speech_clip

pytestmark = pytest.mark.slow
pytest.importorskip("piper", reason=NO_TTS)
pytest.importorskip("pyworld")

CLIP = "coqui_lj_LJ001-0001"  # a woman; Piper's only built-in voice is a man's
INSERT = "and then, quite suddenly,"


@pytest.fixture(scope="module")
def take(studio):
    project = studio.projects.create("matched edits").id
    take = studio.takes.import_recording(project, speech_clip(CLIP), "printing")
    studio.edit.transcript(take.id)
    return take


def _edited(studio, take) -> str:
    words = studio.edit.stored_transcript(take.id).text.split()
    middle = len(words) // 2
    return " ".join(words[:middle] + INSERT.split() + words[middle:])


def test_inserted_words_are_matched_to_the_recording(studio, take, models):
    edited = _edited(studio, take)
    matched = studio.edit.apply(take.id, edited, seed=4)
    plain = studio.edit.apply(take.id, edited, seed=4, match_voice=False)
    assert any("matched to this recording" in n for n in matched.notices)
    assert not any("matched to this recording" in n for n in plain.notices)
    inserted = [e for e in matched.take.parameters["edits"] if e["kind"] != "delete"]
    assert inserted and all(e["provenance"].get("matched_to_recording") for e in inserted)
    assert all(0.8 <= e["provenance"]["speed"] <= 1.25 for e in inserted)  # the recording's speaking rate
    assert matched.take.scores["inserted_similarity"] >= plain.take.scores["inserted_similarity"] + 0.05
    heard = wer_words(models.get("whisper-base-embedded")(studio.media.take_audio(matched.take), language="en").text)
    missing = [w for w in wer_words(INSERT) if w not in heard]
    assert len(missing) <= 1, missing
