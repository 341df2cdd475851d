"""The closed-loop edit check (pipelines/editing/check.py): verdicts from heard words, cut candidates at the
signal's dips, and the search for a deletion's cuts, with a recogniser for tones so every outcome is known."""
from __future__ import annotations

import numpy as np
import pytest

from pipelines.audio import Audio
from pipelines.base import Transcript, Word
from pipelines.editing import SynthesisRequest, TranscriptEditor
from pipelines.editing.editor import SPEECH_TRIES
from pipelines.editing.check import (
    SeamCheck,
    check_deletion,
    check_speech,
    cut_candidates,
    junction_heard,
    kept_as_heard,
    cuts_past_trace,
)
from pipelines.editing.diff import WordEdit
from pipelines.editing.hearing import extra_beside, new_words_heard, words_heard
from pipelines.editing.neighbours import with_neighbours
from pipelines.editing.splice import trim

RATE = 16000
TONES = {"alpha": 300.0, "bravo": 520.0, "charlie": 760.0, "delta": 1000.0}


def tone_speech(spans: list[tuple[str, float, float]], duration: float) -> Audio:
    """'Words' as tone bursts (each word its own pitch) with quiet room noise between them."""
    rng = np.random.default_rng(0)
    samples = 0.001 * rng.standard_normal(int(duration * RATE))
    for word, start, end in spans:
        t = np.arange(int(start * RATE), int(end * RATE)) / RATE
        samples[int(start * RATE): int(start * RATE) + len(t)] += 0.3 * np.sin(2 * np.pi * TONES[word] * t)
    return Audio(samples.astype(np.float32), RATE)


def hear_tones(audio: Audio, whole_s: float = 0.0, least_s: float = 0.0) -> list[str]:
    """A recogniser for tone words: the dominant pitch of every loud 20 ms frame, repeats merged; a trace of
    a word 40 ms long is heard, as a recogniser hears a left-over syllable. A word shorter than `whole_s` is
    heard as "garbled" (a clipped word misheard), one shorter than `least_s` not at all."""
    frame = int(0.02 * RATE)
    labels: list[str] = []
    for k in range(audio.num_samples // frame):
        chunk = audio.samples[k * frame:(k + 1) * frame]
        if np.sqrt(np.mean(chunk ** 2)) < 0.05:
            labels.append("")
            continue
        freq = np.argmax(np.abs(np.fft.rfft(chunk * np.hanning(frame)))) * RATE / frame
        labels.append(min(TONES, key=lambda w: abs(TONES[w] - freq)))
    heard: list[str] = []
    for k, label in enumerate(labels):
        if label and labels[k:k + 2] == [label, label] and (k == 0 or labels[k - 1] != label):
            length = next((n for n in range(k, len(labels)) if labels[n] != label), len(labels)) - k
            if length * 0.02 >= least_s:
                heard.append(label if length * 0.02 >= whole_s else "garbled")
    return heard


def test_a_deletion_is_clean_only_when_the_neighbours_are_heard_side_by_side() -> None:
    assert junction_heard(["ask", "her", "bring"], ["Ask", "her"], ["bring"]) == "clean"
    assert junction_heard(["ask", "her", "to", "bring"], ["Ask", "her"], ["bring"]) == "remnant"
    assert junction_heard(["ask", "bring"], ["Ask", "her"], ["bring"]) == "clipped"
    assert junction_heard(["bring", "those"], [], ["bring", "those"]) == "clean"  # first word deleted
    assert junction_heard(["go", "bring", "those"], [], ["bring", "those"]) == "remnant"
    assert junction_heard(["those", "things", "and"], ["those", "things."], []) == "remnant"  # last word deleted
    # punctuation, case, hyphenation and near misses of a long word do not count against the cut
    assert junction_heard(["took", "impression", "wood"], ["took", "impressions"], ["wood"]) == "clean"
    assert junction_heard(["cold", "hearted", "and"], ["cold", "-hearted"], ["and"]) == "clean"
    # a symbol is heard as the word said for it ("separated by * and then press" without "and")
    assert junction_heard(["by", "star,", "then"], ["by", "*"], ["then"]) == "clean"
    assert junction_heard(["by", "then"], ["by", "*"], ["then"]) == "clipped"
    assert junction_heard(["up", "fifty", "percent", "since"], ["up", "50%"], ["since"]) == "clean"


def test_new_words_must_all_be_heard_in_order() -> None:
    assert words_heard(["made", "very", "amiable"], ["very"])
    assert not words_heard(["made", "a", "amiable"], ["very"])
    assert not words_heard(["quietly", "very"], ["very", "quietly"])


def test_a_new_word_counts_only_when_heard_as_itself_in_either_spelling() -> None:
    # a near miss of a kept word is the recogniser guessing at a short window; of a new word, another word
    assert words_heard(["a", "small", "arbor"], ["small", "harbour"])
    assert not new_words_heard(["a", "small", "arbor"], ["harbour"])
    assert new_words_heard(["a", "small", "Harbor,"], ["harbour"]) and new_words_heard(["the", "center"], ["centre"])
    assert junction_heard(["the", "harbor", "wall"], ["the", "harbour"], ["wall"]) == "clean"


def test_cut_candidates_start_with_the_plan_and_find_the_real_pauses() -> None:
    audio = tone_speech([("alpha", 0.2, 0.9), ("bravo", 1.0, 1.5), ("charlie", 1.6, 2.2)], 2.5)
    starts = cut_candidates(audio, 1.08, 1.12, planned=1.1)
    assert starts[0] == 1.1
    assert any(0.9 < t < 1.0 for t in starts[1:]), starts  # the pause the ASR's timing missed by 100 ms
    assert len(starts) <= 6 and all(0.93 <= t <= 1.27 for t in starts)  # within reach of the ASR's boundary


def test_the_search_moves_cuts_that_leave_a_remnant_into_the_real_pauses() -> None:
    # "bravo" really lasts 1.0-1.5 s, the ASR said 1.1-1.4: cutting there leaves two traces of it
    audio = tone_speech([("alpha", 0.2, 0.9), ("bravo", 1.0, 1.5), ("charlie", 1.6, 2.2)], 2.5)
    starts, ends = cut_candidates(audio, 1.08, 1.12, 1.1), cut_candidates(audio, 1.38, 1.42, 1.4)
    assert hear_tones(audio) == ["alpha", "bravo", "charlie"]
    (start, end), check = check_deletion(audio, (0.0, 2.5), starts, ends, ["alpha"], ["bravo"], ["charlie"],
                                         hear_tones, crossfade_s=0.01)
    assert check.verdict == "clean" and check.heard == "alpha charlie" and check.tries > 1 and check.cuts == "search"
    assert 0.9 <= start <= 1.0 and 1.5 <= end <= 1.6


def test_a_trace_heard_only_with_less_context_is_searched_past_in_the_other_window() -> None:
    # "bravo" really starts at 1.0 s, the plan cuts at 1.06: a 60 ms trace is left. The recogniser hears it in
    # a short piece; in a long one its "language model" passes over anything shorter than 100 ms
    audio = tone_speech([("alpha", 0.2, 0.9), ("bravo", 1.0, 1.5), ("charlie", 1.6, 2.2)], 2.5)

    def hear(piece: Audio) -> list[str]:
        return hear_tones(piece, least_s=0.1 if piece.duration > 1.7 else 0.0)

    starts, ends = cut_candidates(audio, 1.04, 1.08, 1.06), cut_candidates(audio, 1.53, 1.57, 1.55)
    args = (audio, (0.0, 2.5), starts, ends, ["alpha"], ["bravo"], ["charlie"], hear)
    (start, _), check = check_deletion(*args, crossfade_s=0.01)
    assert check.ok and start == 1.06  # one window alone passes the trace
    (start, _), check = check_deletion(*args, crossfade_s=0.01, other=(0.5, 2.0))
    assert check.ok and check.tries > 1 and 0.9 <= start <= 1.0 and check.heard == "alpha charlie", (start, check)
    assert hear_tones(trim(audio, 0.5, 2.0)) == ["alpha", "bravo", "charlie"]


def test_the_other_window_does_not_judge_where_the_recogniser_mishears_it_unedited() -> None:
    audio = tone_speech([("alpha", 0.2, 0.9), ("bravo", 1.0, 1.5), ("charlie", 1.6, 2.2)], 2.5)

    def hear(piece: Audio) -> list[str]:  # a short piece is heard with "delta" between, edited or not
        return hear_tones(piece) if piece.duration > 1.7 else ["alpha", "delta", "charlie"]

    (start, end), check = check_deletion(audio, (0.0, 2.5), [0.95], [1.55], ["alpha"], ["bravo"], ["charlie"], hear,
                                         crossfade_s=0.01, other=(0.5, 2.0))
    assert check.ok and (start, end) == (0.95, 1.55) and check.tries == 1 and check.heard == "alpha charlie"
    pieces: list[float] = []  # a second window that is the first (a short recording) is not heard again
    check_deletion(audio, (0.0, 2.5), [0.95], [1.55], ["alpha"], ["bravo"], ["charlie"],
                   lambda piece: pieces.append(piece.duration) or hear_tones(piece), crossfade_s=0.01,
                   other=(0.0, 2.5))
    assert len(pieces) == 1


def test_a_clipped_neighbour_moves_the_cut_away_from_it() -> None:
    # the ASR put the boundary 70 ms inside "charlie": cutting there clips it; the search moves the end back
    audio = tone_speech([("alpha", 0.2, 0.9), ("bravo", 1.0, 1.5), ("charlie", 1.6, 2.2)], 2.5)
    starts, ends = cut_candidates(audio, 0.93, 0.97, 0.95), cut_candidates(audio, 1.65, 1.69, 1.67)
    (start, end), check = check_deletion(audio, (0.0, 2.5), starts, ends, ["alpha"], ["bravo"], ["charlie"],
                                         lambda piece: hear_tones(piece, whole_s=0.56), crossfade_s=0.01)
    assert check.ok and check.tries > 1 and start == 0.95 and 1.5 <= end <= 1.61, (start, end, check)


def test_when_no_cut_is_clean_the_plan_is_kept_and_the_fault_reported() -> None:
    audio = tone_speech([("alpha", 0.2, 0.9), ("bravo", 0.9, 1.5), ("charlie", 1.5, 2.2)], 2.5)  # no pauses
    (start, end), check = check_deletion(audio, (0.0, 2.5), [1.1], [1.4], ["alpha"], ["bravo"], ["charlie"],
                                         hear_tones, crossfade_s=0.01)
    assert (start, end) == (1.1, 1.4) and check.verdict == "remnant" and not check.ok
    assert "trace of the removed words" in check.message("Delete “bravo”")


def test_when_no_cut_is_clean_the_version_heard_closest_is_kept() -> None:
    # a recogniser that hears the plan's cut (0.3 s removed) as two traces and a wider one as one
    audio = tone_speech([("alpha", 0.2, 0.9), ("bravo", 1.0, 1.5), ("charlie", 1.6, 2.2)], 2.5)

    def hear(piece: Audio) -> list[str]:
        return ["alpha", "bravo", "bravo", "charlie"] if piece.duration > 2.15 else ["alpha", "bravo", "charlie"]

    (start, end), check = check_deletion(audio, (0.0, 2.5), [1.1, 0.95], [1.4], ["alpha"], ["bravo"], ["charlie"],
                                         hear, crossfade_s=0.01, tries=2)
    assert (start, end) == (0.95, 1.4) and check.verdict == "remnant" and check.heard == "alpha bravo charlie"


def test_a_version_where_the_removed_word_is_heard_whole_is_never_kept_over_another() -> None:
    # the plan's cut is heard with "bravo" whole, a wider one with another word there: as close to the kept
    # words by difflib's ratio, but the deleted word must not come back
    audio = tone_speech([("alpha", 0.2, 0.9), ("bravo", 1.0, 1.5), ("charlie", 1.6, 2.2)], 2.5)

    def hear(piece: Audio) -> list[str]:
        return ["alpha", "bravo", "charlie"] if piece.duration > 2.15 else ["alpha", "delta", "charlie"]

    (start, end), check = check_deletion(audio, (0.0, 2.5), [1.1, 0.95], [1.4], ["alpha"], ["bravo"], ["charlie"],
                                         hear, crossfade_s=0.01, tries=2)
    assert (start, end) == (0.95, 1.4) and check.heard == "alpha delta charlie" and check.tries == 2


def test_a_word_the_transcript_has_wrong_is_expected_as_the_recogniser_hears_it() -> None:
    # the transcript says "delta" where "alpha" is spoken: a clean cut is heard as "alpha charlie"
    audio = tone_speech([("alpha", 0.2, 0.9), ("bravo", 1.0, 1.5), ("charlie", 1.6, 2.2)], 2.5)
    (start, end), check = check_deletion(audio, (0.0, 2.5), [0.95], [1.55], ["delta"], ["bravo"], ["charlie"],
                                         hear_tones, crossfade_s=0.01)
    assert check.ok and (start, end) == (0.95, 1.55) and check.heard == "alpha charlie"
    # words heard otherwise, or not at all, on one side ("and graved" / "engraved") are expected as heard (a
    # seam neighbour heard longer, "engraved" next to the seam, in its longer spelling)
    (kept_left, kept_right), unclear = kept_as_heard(["took", "from", "wood"], ["blocks"], ["and", "graved", "in"],
                                                     ["look", "from", "wood", "blocks", "engraved", "in"])
    assert (kept_left, kept_right, unclear) == (["look", "from", "wood"], ["engraved", "in"], False)
    assert kept_as_heard(["from", "wood"], ["blocks"], ["in"], ["from", "in"])[1]  # the removed word not heard


def test_a_recogniser_that_mishears_the_original_too_makes_the_verdict_unclear() -> None:
    audio = tone_speech([("alpha", 0.2, 0.9), ("bravo", 1.0, 1.5), ("charlie", 1.6, 2.2)], 2.5)
    (_, _), check = check_deletion(audio, (0.0, 2.5), [1.1], [1.4], ["alpha"], ["bravo"], ["charlie"],
                                   lambda piece: ["static"], crossfade_s=0.01)
    assert check.verdict == "unclear" and "not checked" in check.message("Delete “bravo”")


def test_inserted_words_are_checked_in_the_result() -> None:
    audio = tone_speech([("alpha", 0.2, 0.9), ("delta", 1.0, 1.5), ("charlie", 1.6, 2.2)], 2.5)
    assert check_speech(audio, [(0.0, 2.5), (0.5, 2.0)], ["alpha"], ["delta"], ["charlie"], hear_tones).ok
    missed = check_speech(audio, [(0.0, 2.5)], ["alpha"], ["bravo"], ["charlie"], hear_tones)
    assert missed.verdict == "not heard" and missed.to_dict()["heard"] == "alpha delta charlie"
    # words made out only with two seconds of context around them are not clearly said: not heard
    with_context = lambda piece: hear_tones(piece) if piece.duration >= 2.0 else []  # noqa: E731
    shaky = check_speech(audio, [(0.0, 2.5), (0.9, 1.6)], ["alpha"], ["delta"], ["charlie"], with_context)
    assert shaky.verdict == "not heard" and shaky.heard == ""
    assert check_speech(audio, [(0.0, 2.5)], ["alpha"], ["delta"], ["charlie"], with_context).ok
    # heard alone, with neither kept word beside them, new words are not heard in their place
    alone = check_speech(audio, [(0.0, 2.5)], ["alpha"], ["delta"], ["charlie"], lambda piece: ["delta"])
    assert alone.verdict == "clipped" and not alone.ok
    assert check_speech(audio, [(0.0, 2.5)], [], ["delta"], ["charlie"], lambda piece: ["delta", "charlie"]).ok
    assert check_speech(audio, [(0.0, 2.5)], [], ["delta"], ["charlie"], lambda piece: ["delta"]).verdict == "clipped"


def test_a_word_heard_beside_the_new_words_that_no_one_wrote_is_an_extra() -> None:
    assert extra_beside(["with", "once", "again", "at", "her", "from"], ["with"], ["once", "again"], ["her"]) == ["at"]
    assert extra_beside(["go", "for", "harbor", "ten"], ["go"], ["harbour"], ["10"]) == ["for"]
    assert extra_beside(["once", "and", "again"], [], ["once", "again"], []) == ["and"]  # between the new words
    assert extra_beside(["with", "once", "again", "her"], ["with"], ["once", "again"], ["her"]) == []
    # a neighbour not heard (clipped by the window, misheard) leaves its side unjudged: the words heard in its
    # place may be it; words beyond the neighbours are the recording's own
    assert extra_beside(["th", "once", "again", "her"], ["with"], ["once", "again"], ["her"]) == []
    assert extra_beside(["so", "with", "once", "again", "her", "at"], ["with"], ["once", "again"], ["her"]) == []
    assert extra_beside(["with", "her"], ["with"], ["once"], ["her"]) == []  # not heard: not an extra either
    # a neighbour heard slightly off ("disposed" as "dispose") is still that neighbour
    assert extra_beside(["dispose", "the", "lantern"], ["disposed"], ["lantern"], []) == ["the"]


def test_new_words_heard_with_a_word_more_between_them_are_said_again() -> None:
    audio = tone_speech([("alpha", 0.2, 0.9), ("charlie", 1.6, 2.2)], 2.5)
    transcript = Transcript(text="alpha charlie", words=(Word("alpha", 0.2, 0.9), Word("charlie", 1.6, 2.2)))
    attempts: list[int] = []
    extra = [("delta", 0.05, 0.35), ("bravo", 0.45, 0.75), ("delta", 0.85, 1.15)]  # "delta bravo delta"

    def synthesize(request: SynthesisRequest) -> tuple[Audio, dict]:
        attempts.append(request.attempt)
        spans = [("delta", 0.05, 0.35), ("delta", 0.45, 0.75)] if request.attempt == 1 else extra
        return tone_speech(spans, 1.2), {"engine_id": "tones", "attempt": request.attempt}

    heard_twice = SeamCheck("extra", "alpha delta charlie", "alpha delta bravo charlie")
    assert "should not be there" in heard_twice.message("Insert “delta”")
    result = TranscriptEditor(synthesize, hear=hear_tones).apply(audio, transcript, "alpha delta delta charlie")
    [edit] = result.edits
    assert attempts == [0, 1] and edit.provenance["attempt"] == 1 and edit.check is not None and edit.check.ok
    assert edit.check.tries == 2 and hear_tones(result.audio) == ["alpha", "delta", "delta", "charlie"]

    # never heard alone: a try heard with the extra word beats tries whose words are not heard at all, and the
    # check says what was heard
    def never_clean(request: SynthesisRequest) -> tuple[Audio, dict]:
        spans = extra if request.attempt == 2 else [("bravo", 0.05, 0.45)]
        return tone_speech(spans, 1.2), {"engine_id": "tones", "attempt": request.attempt}

    result = TranscriptEditor(never_clean, hear=hear_tones).apply(audio, transcript, "alpha delta delta charlie")
    [edit] = result.edits
    assert edit.provenance["attempt"] == 2 and edit.check is not None and edit.check.verdict == "extra"
    assert edit.check.tries == SPEECH_TRIES
    assert hear_tones(result.audio) == ["alpha", "delta", "bravo", "delta", "charlie"]


def test_an_insert_heard_with_a_trace_of_its_neighbour_goes_in_past_the_trace() -> None:
    # "alpha" really lasts to 0.9 s, the ASR ended it at 0.7 s with no pause before "charlie": words put in at
    # 0.7 s leave the end of "alpha" after them, heard as a word more; said the same way past that trace, clean
    audio = tone_speech([("alpha", 0.2, 0.9), ("charlie", 1.0, 1.5)], 2.0)
    transcript = Transcript(text="alpha charlie", words=(Word("alpha", 0.2, 0.7), Word("charlie", 0.7, 1.5)))
    attempts: list[int] = []

    def synthesize(request: SynthesisRequest) -> tuple[Audio, dict]:
        attempts.append(request.attempt)
        return tone_speech([("delta", 0.05, 0.45)], 0.5), {"engine_id": "tones", "attempt": request.attempt}

    result = TranscriptEditor(synthesize, hear=hear_tones).apply(audio, transcript, "alpha delta charlie")
    [edit] = result.edits
    assert attempts == [0, 0], attempts  # the same way, somewhere else
    assert 0.9 <= edit.start <= 1.0 and edit.start == edit.end and edit.check is not None and edit.check.ok
    assert edit.check.cuts == "moved"
    assert hear_tones(result.audio) == ["alpha", "delta", "charlie"]
    # a moved point must leave its neighbours whole: one heard clipped (not at all) is not clean
    window = [(0.0, 2.0)]
    assert check_speech(audio, window, ["alpha"], ["charlie"], ["delta"], hear_tones).verdict == "clean"
    moved = check_speech(audio, window, ["alpha"], ["charlie"], ["delta"], hear_tones, neighbours=True)
    assert moved.verdict == "clipped" and "not heard clearly" in moved.message("Insert “charlie”")
    # a trace before the new words is of the word after the point: it moves earlier, not past the middle of the
    # word before; with no side, or no word on that side, nothing moves (the words are said another way)
    earlier = cuts_past_trace(audio, transcript.words, 1, 1, (0.7, 0.7), "before")
    assert earlier is not None and earlier[0] == earlier[1] and 0.45 < earlier[0] < 0.7
    assert cuts_past_trace(audio, transcript.words, 1, 1, (0.7, 0.7), "") is None
    assert cuts_past_trace(audio, transcript.words, 0, 0, (0.1, 0.1), "before") is None


def test_a_replacement_heard_with_the_end_of_the_old_word_after_it_is_cut_past_it() -> None:
    # "bravo" really lasts to 1.5 s, the ASR ended it at 1.3 s and began "charlie" there: the new word goes in
    # before the end of "bravo", heard after it; the end cut moves past it, and the new word is said the same way
    audio = tone_speech([("alpha", 0.2, 0.9), ("bravo", 1.0, 1.5), ("charlie", 1.6, 2.2)], 2.5)
    words = (Word("alpha", 0.2, 0.9), Word("bravo", 1.0, 1.3), Word("charlie", 1.3, 2.2))
    transcript = Transcript(text="alpha bravo charlie", words=words)
    attempts: list[int] = []

    def synthesize(request: SynthesisRequest) -> tuple[Audio, dict]:
        attempts.append(request.attempt)
        return tone_speech([("delta", 0.05, 0.45)], 0.5), {"engine_id": "tones"}

    editor = TranscriptEditor(synthesize, hear=lambda piece: hear_tones(piece, whole_s=0.1))
    result = editor.apply(audio, transcript, "alpha delta charlie")
    [edit] = result.edits
    assert hear_tones(result.audio, whole_s=0.1) == ["alpha", "delta", "charlie"], hear_tones(result.audio)
    assert edit.end >= 1.5 and edit.check is not None and edit.check.ok and attempts == [0, 0], attempts
    assert edit.check.cuts == "moved" and edit.check.tries == 2


@pytest.mark.parametrize("verdict", ["clean", "remnant", "clipped", "not heard", "extra", "unclear"])
def test_every_verdict_has_a_readable_message(verdict: str) -> None:
    message = SeamCheck(verdict, "a | b", "a b").message("Delete “x”")
    assert message.startswith("Delete “x”:") and "Traceback" not in message


def test_new_words_not_heard_are_spoken_a_second_time_and_kept_if_heard() -> None:
    audio = tone_speech([("alpha", 0.2, 0.9), ("charlie", 1.6, 2.2)], 2.5)
    transcript = Transcript(text="alpha charlie", words=(Word("alpha", 0.2, 0.9), Word("charlie", 1.6, 2.2)))
    attempts: list[int] = []

    def synthesize(request: SynthesisRequest) -> tuple[Audio, dict]:
        attempts.append(request.attempt)
        word = "bravo" if request.attempt == 0 else "delta"  # the first try says the wrong thing
        return tone_speech([(word, 0.05, 0.45)], 0.5), {"engine_id": "tones", "attempt": request.attempt}

    result = TranscriptEditor(synthesize, hear=hear_tones).apply(audio, transcript, "alpha delta charlie")
    [edit] = result.edits
    assert attempts == [0, 1] and edit.provenance["attempt"] == 1
    assert edit.check is not None and edit.check.ok and hear_tones(result.audio) == ["alpha", "delta", "charlie"]
    # a first try that is heard is kept: no second one
    attempts.clear()
    TranscriptEditor(synthesize, hear=hear_tones).apply(audio, transcript, "alpha bravo charlie")
    assert attempts == [0]


def test_new_words_are_said_up_to_speech_tries_ways_and_the_first_try_kept_if_none_is_heard() -> None:
    audio = tone_speech([("alpha", 0.2, 0.9), ("charlie", 1.6, 2.2)], 2.5)
    transcript = Transcript(text="alpha charlie", words=(Word("alpha", 0.2, 0.9), Word("charlie", 1.6, 2.2)))
    attempts: list[int] = []
    heard_on: list[int] = [SPEECH_TRIES - 1]  # the try on which the engine says the right word

    def synthesize(request: SynthesisRequest) -> tuple[Audio, dict]:
        attempts.append(request.attempt)
        word = "delta" if request.attempt in heard_on else "bravo"
        return tone_speech([(word, 0.05, 0.45)], 0.5), {"engine_id": "tones", "attempt": request.attempt}

    result = TranscriptEditor(synthesize, hear=hear_tones).apply(audio, transcript, "alpha delta charlie")
    assert attempts == list(range(SPEECH_TRIES)) and result.edits[0].provenance["attempt"] == SPEECH_TRIES - 1
    assert hear_tones(result.audio) == ["alpha", "delta", "charlie"]
    attempts.clear()
    heard_on.clear()  # never said right: every try is made, and the first one stays
    result = TranscriptEditor(synthesize, hear=hear_tones).apply(audio, transcript, "alpha delta charlie")
    # ...and one more with the kept word either side (neighbours.py), not heard either
    assert attempts == [*range(SPEECH_TRIES), 0] and result.edits[0].provenance["attempt"] == 0
    assert result.edits[0].check is not None and result.edits[0].check.verdict == "not heard"
    assert result.edits[0].check.cuts == "plan" and result.edits[0].old_text == ""


def test_new_words_never_heard_in_place_are_said_with_the_kept_word_either_side() -> None:
    audio = tone_speech([("alpha", 0.2, 0.7), ("bravo", 0.9, 1.4), ("charlie", 1.8, 2.3)], 2.6)
    words = (Word("alpha", 0.2, 0.7), Word("bravo", 0.9, 1.4), Word("charlie", 1.8, 2.3))
    said: list[str] = []

    def synthesize(request: SynthesisRequest) -> tuple[Audio, dict]:
        said.append(request.text)
        spoken = request.text.split() if " " in request.text else ["alpha"]  # right only amid its neighbours
        spans = [(w, 0.05 + 0.5 * k, 0.45 + 0.5 * k) for k, w in enumerate(spoken)]
        return tone_speech(spans, 0.5 * len(spoken)), {"engine_id": "tones"}

    result = TranscriptEditor(synthesize, hear=hear_tones).apply(
        audio, Transcript(text="alpha bravo charlie", words=words), "alpha bravo delta charlie")
    [edit] = result.edits
    assert said == ["delta"] * SPEECH_TRIES + ["bravo delta charlie"]
    assert hear_tones(result.audio) == ["alpha", "bravo", "delta", "charlie"]
    assert edit.check is not None and edit.check.ok and edit.check.cuts == "neighbours"
    assert edit.check.tries == SPEECH_TRIES + 1 and (edit.kind, edit.old_text) == ("replace", "bravo charlie")
    assert np.array_equal(result.audio.samples[:int(0.7 * RATE)], audio.samples[:int(0.7 * RATE)])  # "alpha" kept
    # the re-spoken kept words are timed where they are said now, in order, inside the splice
    assert [w.text for w in result.words] == ["alpha", "bravo", "delta", "charlie"]
    assert edit.out_start <= result.words[1].start < result.words[2].start < result.words[3].end <= edit.out_end
    assert all(a.end <= b.start + 1e-6 for a, b in zip(result.words, result.words[1:]))


def test_new_words_are_not_said_with_a_neighbour_another_edit_touches() -> None:
    words = [Word(w, 0.5 * k, 0.5 * k + 0.4) for k, w in enumerate("alpha bravo charlie delta".split())]
    insert = WordEdit("insert", 2, 2, "", "echo")
    assert with_neighbours(insert, words, [insert]) == WordEdit("replace", 1, 3, "bravo charlie",
                                                                "bravo echo charlie")
    assert with_neighbours(WordEdit("insert", 0, 0, "", "echo"), words, []) == WordEdit(
        "replace", 0, 1, "alpha", "echo alpha")  # at the start: the word after only
    assert with_neighbours(WordEdit("delete", 1, 2, "bravo", ""), words, []) == WordEdit(
        "replace", 0, 3, "alpha bravo charlie", "alpha charlie")  # a deletion: the kept words alone
    for other in (WordEdit("delete", 0, 1, "alpha", ""), WordEdit("replace", 3, 4, "delta", "x"),
                  WordEdit("insert", 1, 1, "", "y")):
        assert with_neighbours(insert, words, [insert, other]) is None, other


def test_a_replacement_takes_the_old_word_out_where_no_trace_of_it_is_heard() -> None:
    # "bravo" really lasts 1.0-1.5 s, the ASR said 1.1-1.4: cut there, both ends of it stayed beside the new word
    audio = tone_speech([("alpha", 0.2, 0.9), ("bravo", 1.0, 1.5), ("charlie", 1.6, 2.2)], 2.5)
    words = (Word("alpha", 0.2, 0.9), Word("bravo", 1.1, 1.4), Word("charlie", 1.6, 2.2))
    transcript = Transcript(text="alpha bravo charlie", words=words)
    attempts: list[int] = []

    def synthesize(request: SynthesisRequest) -> tuple[Audio, dict]:
        attempts.append(request.attempt)
        word = "alpha" if request.attempt == 0 else "delta"  # the first try is not heard as "delta"
        return tone_speech([(word, 0.05, 0.45)], 0.5), {"engine_id": "tones"}

    result = TranscriptEditor(synthesize, hear=hear_tones).apply(audio, transcript, "alpha delta charlie")
    [edit] = result.edits
    assert hear_tones(result.audio) == ["alpha", "delta", "charlie"]
    assert 0.9 <= edit.start <= 1.0 and 1.5 <= edit.end <= 1.6 and edit.check is not None and edit.check.ok
    assert attempts == [0, 1]  # the second try went in at the cuts found for the first


def test_digits_and_words_that_sound_the_same_are_heard_alike() -> None:
    # the recogniser writes "1" or "one", "to" or "two" as it likes: neither is a trace of a removed word
    assert junction_heard(["press", "one"], [], ["press", "1"]) == "clean"
    assert junction_heard(["or", "eight", "two"], ["or", "8", "to"], []) == "clean"
    assert junction_heard(["or", "8", "two", "exit"], ["or", "8", "to"], []) == "remnant"
    assert junction_heard(["²", "plus"], ["²"], ["plus"]) == "clean"  # other digits stay as written


def test_a_trace_at_the_recordings_start_moves_the_start_earlier() -> None:
    # the first word really starts at 0.1 s, the ASR said 0.3 s: a lead-in kept up to 0.25 s holds its onset
    audio = tone_speech([("bravo", 0.1, 0.6), ("charlie", 0.7, 1.3)], 1.6)
    starts, ends = cut_candidates(audio, 0.0, 0.3, planned=0.25), cut_candidates(audio, 0.6, 0.7, planned=0.65)
    (start, end), check = check_deletion(audio, (0.0, 1.6), starts, ends, [], ["bravo"], ["charlie"],
                                         hear_tones, crossfade_s=0.01)
    assert check.ok and check.heard == "charlie" and start <= 0.1 and 0.6 <= end <= 0.7, (start, end, check)


@pytest.mark.parametrize("side", ["end", "start"])
def test_a_trace_spelled_like_one_end_of_the_removed_word_widens_that_side_first(monkeypatch, side: str) -> None:
    # "bravo" spoken as two tones, "bra" then "vo"; a recogniser spells a trace of either half as that half.
    # With two tries, only widening the side the trace comes from can find the pause: "vo" left by an end cut
    # that fell inside the word (the ASR's end was early) moves the end first, though starts widen first alone.
    monkeypatch.setitem(TONES, "bra", 1300.0)
    monkeypatch.setitem(TONES, "vo", 1600.0)
    audio = tone_speech([("alpha", 0.2, 0.9), ("bra", 1.0, 1.25), ("vo", 1.25, 1.5), ("charlie", 1.6, 2.2)], 2.5)

    def hear(piece: Audio) -> list[str]:
        words = " ".join(hear_tones(piece)).replace("bra vo", "bravo").split()
        return [{"bra": "brr", "vo": "avo"}.get(w, w) for w in words]

    assert hear(audio) == ["alpha", "bravo", "charlie"]
    starts, ends = ([0.95, 0.92], [1.4, 1.55]) if side == "end" else ([1.1, 0.95], [1.55, 1.58])
    (start, end), check = check_deletion(audio, (0.0, 2.5), starts, ends, ["alpha"], ["bravo"], ["charlie"], hear,
                                         crossfade_s=0.01, tries=2)
    assert check.ok and check.tries == 2 and (start, end) == (0.95, 1.55), (start, end, check)


def test_a_boundary_between_two_failed_cuts_is_found_by_halving_the_gap() -> None:
    # only two end candidates, one inside the removed word (a trace), one inside the next (clipped): the
    # real pause lies between them, and the search tries the middle instead of giving up
    audio = tone_speech([("alpha", 0.2, 0.9), ("bravo", 1.0, 1.5), ("charlie", 1.6, 2.2)], 2.5)
    (start, end), check = check_deletion(audio, (0.0, 2.5), [0.95], [1.44, 1.7], ["alpha"], ["bravo"],
                                         ["charlie"], lambda piece: hear_tones(piece, whole_s=0.56),
                                         crossfade_s=0.01)
    assert check.ok and 1.5 <= end <= 1.6, (start, end, check)


def fused(pair: list[str], hear=hear_tones):
    """A recogniser that hears a trace of a word ("garbled": shorter than 0.3 s) run into the word beside it as
    one other word, "delta" ("Let" left before "us" heard as "Let's")."""
    def heard(piece: Audio) -> list[str]:
        words = hear(piece, whole_s=0.3)
        at = [k for k in range(len(words) - 1) if words[k:k + 2] == pair]
        return words[:at[0]] + ["delta"] + words[at[0] + 2:] if at else words
    return heard


def test_a_trace_heard_fused_with_the_next_word_is_found_by_widening_after_narrowing_failed() -> None:
    # the ASR ended "bravo" at 1.4 s (it lasts to 1.5): cutting there leaves a trace that runs into "charlie",
    # which reads as "charlie" clipped. Moving the cut away from "charlie" keeps it that way; widening finds the pause.
    audio = tone_speech([("alpha", 0.2, 0.9), ("bravo", 1.0, 1.5), ("charlie", 1.6, 2.2)], 2.5)
    hear = fused(["garbled", "charlie"])
    starts, ends = cut_candidates(audio, 0.93, 0.97, 0.95), [1.4, 1.3, 1.55]
    assert hear(audio) == ["alpha", "bravo", "charlie"]
    (start, end), check = check_deletion(audio, (0.0, 2.5), starts, ends, ["alpha"], ["bravo"], ["charlie"],
                                         hear, crossfade_s=0.01)
    assert check.ok and check.heard == "alpha charlie" and 1.5 <= end <= 1.6, (start, end, check)


def test_a_trace_of_the_last_word_fused_with_the_word_before_is_found_at_the_recordings_end() -> None:
    # "exit" deleted from "8 to exit": its end, later than the ASR said, is heard with "to" as "duet"
    audio = tone_speech([("alpha", 0.2, 0.9), ("charlie", 1.0, 1.6), ("bravo", 1.7, 2.3)], 3.0)
    hear = fused(["charlie", "garbled"])
    starts, ends = cut_candidates(audio, 1.6, 1.7, 1.65), [2.2, 2.6]
    (start, end), check = check_deletion(audio, (0.0, 3.0), starts, ends, ["alpha", "charlie"], ["bravo"], [],
                                         hear, crossfade_s=0.01)
    assert check.ok and check.heard == "alpha charlie" and end == 2.6, (start, end, check)


def test_a_neighbour_heard_with_more_on_the_seams_side_is_a_remnant_not_a_near_miss() -> None:
    # "Billy" cut after "pushing" was heard as "pushingly": the trace runs into the kept word
    assert junction_heard(["crags", "pushingly", "towards"], ["crags", "pushing"], ["towards"]) == "remnant"
    assert junction_heard(["pushing", "stowards"], ["pushing"], ["towards"]) == "remnant"
    assert junction_heard(["say", "pushingly"], ["say", "pushing"], []) == "remnant"  # the last word removed
    assert junction_heard(["stowards", "them"], [], ["towards", "them"]) == "remnant"  # the first word removed
    # even one letter ("so" cut after "impression"); were the word really said so, the check would expect it as
    # heard in the unedited window (kept_as_heard)
    assert junction_heard(["took", "impressions", "wood"], ["took", "impression"], ["wood"]) == "remnant"
    assert kept_as_heard(["took", "impression"], ["so"], ["wood"], ["took", "impressions", "so", "wood"])[0] == (
        ["took", "impressions"], ["wood"])
    # more on the other side is a near miss, not a trace at the seam
    assert junction_heard(["unpushing", "towards"], ["pushing"], ["towards"]) == "clean"
    # a contraction is a trace too ("were" cut after "they": "they're"), even too unlike the word to be matched
    assert junction_heard(["why", "they're", "on"], ["why", "they"], ["on"]) == "remnant"
    assert junction_heard(["advertisement", "hadn't", "to"], ["advertisement", "had"], ["to"]) == "remnant"
    assert junction_heard(["why", "they", "on"], ["why", "they"], ["on"]) == "clean"


def joined_when_close(within_s: float = 0.15):
    """A recogniser that hears "alpha" and "charlie" said less than `within_s` apart as one other word, "garbled"
    (a join so fluent no cut parts it: "was" left before the "n" of "not" heard as "wasn't")."""
    frame = int(0.02 * RATE)

    def heard(piece: Audio) -> list[str]:
        loud = [float(np.sqrt(np.mean(piece.samples[k * frame:(k + 1) * frame] ** 2))) >= 0.05
                for k in range(piece.num_samples // frame)]
        edges = [0, *[k for k in range(1, len(loud)) if loud[k] != loud[k - 1]], len(loud)]
        sounds = [(a, b) for a, b in zip(edges, edges[1:]) if loud[a]]  # frames of each stretch of sound
        out: list[tuple[str, int, int]] = []  # each word heard, with the sound it was heard in
        for a, b in sounds:
            out += [(w, a, b) for w in hear_tones(trim(piece, a * 0.02, b * 0.02))]
        words = [w for w, _, _ in out]
        for k in range(len(out) - 1):
            if words[k:k + 2] == ["alpha", "charlie"] and (out[k + 1][1] - out[k][2]) * 0.02 < within_s:
                return words[:k] + ["garbled"] + words[k + 2:]
        return words
    return heard


def test_a_deletion_no_cut_leaves_clean_is_made_by_saying_the_kept_words_either_side_again() -> None:
    # pauses of 50 ms: whatever the cuts, "alpha" and "charlie" end up too close and are heard run together
    audio = tone_speech([("alpha", 0.2, 0.7), ("bravo", 0.75, 1.25), ("charlie", 1.3, 1.8), ("delta", 1.85, 2.3)],
                        2.6)
    words = tuple(Word(w, a, b) for w, a, b in [("alpha", 0.2, 0.7), ("bravo", 0.75, 1.25), ("charlie", 1.3, 1.8),
                                                 ("delta", 1.85, 2.3)])
    transcript = Transcript(text="alpha bravo charlie delta", words=words)
    hear = joined_when_close()
    said: list[str] = []

    def synthesize(request: SynthesisRequest) -> tuple[Audio, dict]:
        said.append(request.text)
        spans = [(w, 0.05 + 0.6 * k, 0.45 + 0.6 * k) for k, w in enumerate(request.text.split())]  # clear pauses
        return tone_speech(spans, 0.6 * len(spans)), {"engine_id": "tones"}

    alone = TranscriptEditor(hear=hear).apply(audio, transcript, "alpha charlie delta")  # no engine: as cut
    assert alone.edits[0].kind == "delete" and alone.edits[0].check is not None and not alone.edits[0].check.ok
    result = TranscriptEditor(synthesize, hear=hear).apply(audio, transcript, "alpha charlie delta")
    [edit] = result.edits
    assert said == ["alpha charlie"] and hear(result.audio) == ["alpha", "charlie", "delta"]
    assert (edit.kind, edit.old_text, edit.new_text) == ("replace", "alpha bravo charlie", "alpha charlie")
    assert edit.check is not None and edit.check.ok and edit.check.cuts == "respoken"
    assert edit.check.tries == alone.edits[0].check.tries + 1  # the deletion's search, and this
    assert [w.text for w in result.words] == ["alpha", "charlie", "delta"]
    assert edit.out_start <= result.words[0].start < result.words[1].start < result.words[1].end <= edit.out_end
    assert result.words[2].start >= edit.out_end - 1e-6  # "delta" kept after the re-spoken words


def test_a_deletion_is_left_as_cut_when_its_words_said_again_are_not_heard_clean_either() -> None:
    audio = tone_speech([("alpha", 0.2, 0.7), ("bravo", 0.75, 1.25), ("charlie", 1.3, 1.8), ("delta", 1.85, 2.3)],
                        2.6)
    words = tuple(Word(w, a, b) for w, a, b in [("alpha", 0.2, 0.7), ("bravo", 0.75, 1.25), ("charlie", 1.3, 1.8),
                                                 ("delta", 1.85, 2.3)])
    said: list[str] = []

    def synthesize(request: SynthesisRequest) -> tuple[Audio, dict]:  # says them run together too
        said.append(request.text)
        spans = [(w, 0.05 + 0.45 * k, 0.45 + 0.45 * k) for k, w in enumerate(request.text.split())]
        return tone_speech(spans, 0.45 * len(spans) + 0.1), {"engine_id": "tones"}

    result = TranscriptEditor(synthesize, hear=joined_when_close()).apply(
        audio, Transcript(text="alpha bravo charlie delta", words=words), "alpha charlie delta")
    [edit] = result.edits
    assert said == ["alpha charlie"] and (edit.kind, edit.old_text, edit.new_text) == ("delete", "bravo", "")
    assert edit.check is not None and edit.check.verdict in ("remnant", "clipped") and edit.check.cuts != "respoken"
    assert np.array_equal(result.audio.samples[:int(0.7 * RATE)], audio.samples[:int(0.7 * RATE)])  # nothing said
