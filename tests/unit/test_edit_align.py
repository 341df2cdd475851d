"""The second alignment of a deletion's cuts (pipelines/editing/align.py): a voice's known word boundaries
carried onto a recording by DTW, and the check trying them when the planned cuts fail; and new words cut from
between their neighbours at such a voice's marks (in_context.py). Words are tone bursts
here (each its own pitch), spoken by the 'voice' at one pace and in the 'recording' at another, so every
boundary is known."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from pipelines.audio import Audio
from pipelines.base import Transcript, Word
from pipelines.editing import SpokenAligner, TranscriptEditor, warp_times
from pipelines.editing.check import check_deletion
from tests.unit.test_edit_check import RATE, hear_tones, tone_speech


def spoken_tones(phrases: Sequence[str]) -> tuple[Audio, list[float]]:
    """A 'voice' for tone words: every word 0.3 s, no pauses, 0.1 s of quiet at either end; and where each
    phrase after the first begins."""
    spans, at, begins = [], 0.1, []
    for k, phrase in enumerate(phrases):
        if k:
            begins.append(at)
        for word in phrase.split():
            spans.append((word, at, at + 0.3))
            at += 0.3
    return tone_speech(spans, at + 0.1), begins


def test_boundaries_are_carried_onto_a_recording_at_another_pace() -> None:
    # the recording says the same words, each at its own length, with a pause the voice does not make
    recording = tone_speech([("alpha", 0.15, 0.85), ("bravo", 0.85, 1.25), ("charlie", 1.45, 2.3)], 2.5)
    spoken, begins = spoken_tones(["alpha", "bravo", "charlie"])
    assert np.allclose(begins, [0.4, 0.7])
    bravo, charlie = warp_times(recording, spoken, begins)
    assert abs(bravo - 0.85) <= 0.03 and 1.25 <= charlie <= 1.48, (bravo, charlie)
    # the aligner asks the voice and warps its boundaries in one call
    assert SpokenAligner(spoken_tones)(recording, ["alpha", "bravo", "charlie"]) == [bravo, charlie]


def test_the_second_alignment_is_the_next_version_tried_when_the_plan_fails() -> None:
    # no pauses, and the only candidates are the ASR's wrong boundaries: without a second alignment the
    # search cannot reach the real ones
    audio = tone_speech([("alpha", 0.2, 0.9), ("bravo", 0.9, 1.5), ("charlie", 1.5, 2.2)], 2.5)
    asked: list[int] = []

    def aligned() -> tuple[float, float]:
        asked.append(1)
        return 0.9, 1.5

    (start, end), check = check_deletion(audio, (0.0, 2.5), [1.1], [1.4], ["alpha"], ["bravo"], ["charlie"],
                                         hear_tones, crossfade_s=0.01, aligned=aligned)
    assert check.ok and check.tries == 2 and (start, end) == (0.9, 1.5) and asked == [1]
    assert check.cuts == "alignment" and check.to_dict()["cuts"] == "alignment"
    # a clean plan never asks
    asked.clear()
    (start, end), check = check_deletion(audio, (0.0, 2.5), [0.9], [1.5], ["alpha"], ["bravo"], ["charlie"],
                                         hear_tones, crossfade_s=0.01, aligned=aligned)
    assert check.ok and check.tries == 1 and asked == [] and check.cuts == "plan"


def test_the_editor_cuts_where_the_voice_aligned_the_words() -> None:
    # fluent 'speech' (no pauses to find) with ASR timings 100-150 ms off: planned cuts leave traces of "bravo"
    audio = tone_speech([("alpha", 0.2, 0.9), ("bravo", 0.9, 1.5), ("charlie", 1.5, 2.2), ("delta", 2.2, 2.8)],
                        3.0)
    words = (Word("alpha", 0.2, 1.0), Word("bravo", 1.0, 1.4), Word("charlie", 1.4, 2.2), Word("delta", 2.2, 2.8))
    transcript = Transcript(text="alpha bravo charlie delta", words=words)
    plain = TranscriptEditor(hear=hear_tones).apply(audio, transcript, "alpha charlie delta")
    assert not plain.edits[0].check.ok  # type: ignore[union-attr]
    result = TranscriptEditor(hear=hear_tones, align=SpokenAligner(spoken_tones)).apply(
        audio, transcript, "alpha charlie delta")
    [edit] = result.edits
    assert edit.check is not None and edit.check.ok and hear_tones(result.audio) == ["alpha", "charlie", "delta"]
    assert abs(edit.start - 0.9) <= 0.03 and abs(edit.end - 1.5) <= 0.03, (edit.start, edit.end)


def test_an_aligner_that_fails_leaves_the_check_to_the_signal() -> None:
    audio = tone_speech([("alpha", 0.2, 0.9), ("bravo", 1.0, 1.5), ("charlie", 1.6, 2.2)], 2.5)
    words = (Word("alpha", 0.2, 0.9), Word("bravo", 1.1, 1.4), Word("charlie", 1.6, 2.2))

    def broken(phrases: Sequence[str]) -> tuple[Audio, list[float]]:
        raise RuntimeError("voice not loaded")

    result = TranscriptEditor(hear=hear_tones, align=SpokenAligner(broken)).apply(
        audio, Transcript(text="alpha bravo charlie", words=words), "alpha charlie")
    assert result.edits[0].check is not None and result.edits[0].check.ok
    assert hear_tones(result.audio) == ["alpha", "charlie"] and RATE == result.audio.sample_rate


# ------------------------------------------------------------------- new words cut from their context

def test_new_words_are_cut_from_between_their_neighbours_at_the_voices_marks() -> None:
    from pipelines.editing import speak_in_context

    asked: list[list[str]] = []

    def voice(phrases: Sequence[str]) -> tuple[Audio, list[float]]:
        asked.append(list(phrases))
        return spoken_tones(phrases)

    # two neighbours either side at most; the cut holds the new word and at most the margin of each neighbour
    piece = speak_in_context(voice, "bravo", "delta alpha alpha", "charlie delta delta")
    assert asked[-1] == ["alpha alpha", "bravo", "charlie delta"]
    assert abs(piece.duration - (0.3 + 2 * 0.01)) < 0.002 and hear_tones(piece) == ["bravo"]
    # at the recording's edges the side with no words keeps the voice's own lead-in or ending
    start = speak_in_context(voice, "bravo charlie", "", "alpha")
    assert asked[-1] == ["bravo charlie", "alpha"] and hear_tones(start) == ["bravo", "charlie"]
    assert abs(start.duration - (0.1 + 0.6 + 0.01)) < 0.002
    end = speak_in_context(voice, "charlie", "alpha", "")
    assert asked[-1] == ["alpha", "charlie"] and hear_tones(end) == ["charlie"]
    assert abs(end.duration - (0.01 + 0.3 + 0.1)) < 0.002


def test_a_voice_whose_marks_do_not_fit_its_phrases_is_an_error() -> None:
    from pipelines.editing import speak_in_context

    with pytest.raises(ValueError, match="marked 1 phrase starts for 3 phrases"):
        speak_in_context(lambda phrases: (spoken_tones(phrases)[0], [0.4]), "bravo", "alpha", "charlie")
    with pytest.raises(ValueError, match="no time"):
        speak_in_context(lambda phrases: (spoken_tones(phrases)[0], [0.7, 0.4]), "bravo", "alpha", "charlie")
    with pytest.raises(ValueError, match="words to speak"):
        speak_in_context(spoken_tones, "  ", "alpha", "charlie")
