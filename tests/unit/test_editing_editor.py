"""The transcript editor and room-tone matching on a synthetic recording whose every word is known.

Each "word" is a tone burst at its own pitch over a steady noise floor, so what was cut, kept and inserted
can be measured exactly (Goertzel power at each word's pitch), and the stand-in engine returns speech at
another rate and level with digital silence around it, as real engines do.
"""
from __future__ import annotations

import numpy as np
import pytest

from pipelines.audio import Audio, loudness
from pipelines.base import Transcript, Word
from pipelines.editing import (AppliedEdit, EditError, SynthesisRequest, TranscriptEditor, match_to_context,
                               noise_floor_db, room_tone, seam_click_ratio)

RATE = 16000
NAMES = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]
FLOOR_DBFS = -60.0
XF = 0.01


def burst(seconds: float, f0: float, amplitude: float = 0.3, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(round(seconds * rate))) / rate
    x = amplitude * (np.sin(2 * np.pi * f0 * t) + 0.3 * np.sin(2 * np.pi * 2 * f0 * t))
    ramp = int(0.02 * rate)
    env = np.ones(t.size)
    env[:ramp] = np.sin(np.linspace(0, np.pi / 2, ramp)) ** 2
    env[-ramp:] = env[:ramp][::-1]
    return (x * env).astype(np.float32)


def pitch(k: int) -> float:
    return 150.0 + 60.0 * k


def recording(gaps: list[float], word_s: float = 0.3, lead: float = 0.3, tail: float = 0.3,
              seed: int = 0) -> tuple[Audio, Transcript]:
    """len(gaps) + 1 words; gaps[k] is the pause after word k."""
    rng = np.random.default_rng(seed)
    pieces, words, t = [np.zeros(int(lead * RATE), np.float32)], [], lead
    for k in range(len(gaps) + 1):
        pieces.append(burst(word_s, pitch(k)))
        words.append(Word(NAMES[k], round(t, 4), round(t + word_s, 4)))
        t += word_s
        pause = gaps[k] if k < len(gaps) else tail
        pieces.append(np.zeros(int(round(pause * RATE)), np.float32))
        t += pause
    samples = np.concatenate(pieces)
    samples = samples + rng.normal(0, 10 ** (FLOOR_DBFS / 20), samples.size).astype(np.float32)
    text = " ".join(w.text for w in words)
    return Audio(samples, RATE), Transcript(text, tuple(words), "en")


def power_at(audio: Audio, f: float, lo: float = 0.0, hi: float | None = None) -> float:
    """Energy at frequency f over [lo, hi] (a single-bin DFT): a word's tone keeps it wherever it moves."""
    x = audio.samples[int(lo * audio.sample_rate): None if hi is None else int(hi * audio.sample_rate)]
    t = np.arange(x.size) / audio.sample_rate
    return float(abs(np.dot(x.astype(np.float64), np.exp(-2j * np.pi * f * t))) ** 2)


def pauses(audio: Audio, threshold_db: float = -35.0) -> list[float]:
    """Lengths of the quiet stretches between sounds (10 ms frames)."""
    frame = int(0.01 * audio.sample_rate)
    count = audio.num_samples // frame
    levels = 10 * np.log10(np.mean(audio.samples[: count * frame].reshape(count, frame) ** 2, axis=1) + 1e-20)
    loud = np.flatnonzero(levels > threshold_db)
    gaps = np.diff(loud) - 1
    return [g * 0.01 for g in gaps if g > 0]


class FakeEngine:
    """Speech at 24 kHz, 15 dB quieter than the recording, with 0.2 s of digital silence either side."""

    def __init__(self) -> None:
        self.requests: list[SynthesisRequest] = []

    def __call__(self, request: SynthesisRequest) -> tuple[Audio, dict]:
        self.requests.append(request)
        rate = 24000
        speech = burst(0.25 * len(request.text.split()), 900.0, amplitude=0.05, rate=rate)
        silence = np.zeros(int(0.2 * rate), np.float32)
        return Audio(np.concatenate([silence, speech, silence]), rate), {"engine_id": "fake", "seed": 5}


# ----------------------------------------------------------------------------------------------- deletions


@pytest.mark.parametrize("gaps, shortest, longest", [
    ((0.2, 0.4), 0.37, 0.43),  # the longer neighbouring pause is kept
    ((1.0, 1.2), 0.57, 0.63),  # ... but at most max_pause_s
    ((0.02, 0.03), 0.0, 0.06),  # too little pause to reach min_pause_s: no more than there was
])
def test_deleting_a_word_reshapes_the_pause(gaps: tuple[float, float], shortest: float, longest: float) -> None:
    audio, transcript = recording([gaps[0], gaps[1], 0.3])
    result = TranscriptEditor(crossfade_s=XF).apply(audio, transcript, "alpha charlie delta")
    (edit,) = result.edits
    assert (edit.kind, edit.old_text, edit.provenance) == ("delete", "bravo", {})
    assert power_at(result.audio, pitch(1)) < 1e-3 * power_at(audio, pitch(1))  # bravo is gone
    for k in (0, 2, 3):
        assert power_at(result.audio, pitch(k)) == pytest.approx(power_at(audio, pitch(k)), rel=0.05)
    found = pauses(result.audio)
    assert shortest <= found[0] <= longest
    assert result.seams == (pytest.approx(edit.out_start),)
    assert seam_click_ratio(result.audio, edit.out_start) <= 1.0
    assert [w.text for w in result.words] == ["alpha", "charlie", "delta"]
    assert result.text == "alpha charlie delta"


def test_deleting_the_first_and_last_words() -> None:
    audio, transcript = recording([0.3, 0.3, 0.3])
    result = TranscriptEditor(crossfade_s=XF).apply(audio, transcript, "bravo charlie")
    assert [e.old_text for e in result.edits] == ["alpha", "delta"]
    assert power_at(result.audio, pitch(0)) < 1e-3 * power_at(audio, pitch(0))
    assert power_at(result.audio, pitch(3)) < 1e-3 * power_at(audio, pitch(3))
    assert result.audio.duration < audio.duration - 0.6
    assert abs(result.audio.samples[0]) < 0.01 and abs(result.audio.samples[-1]) < 0.01


# ------------------------------------------------------------------------------------------ new speech


def test_inserting_a_word_between_two_others() -> None:
    audio, transcript = recording([0.4, 0.3, 0.3, 0.3])
    engine = FakeEngine()
    result = TranscriptEditor(engine, crossfade_s=XF).apply(audio, transcript, "alpha bravo NEW charlie delta echo")
    (edit,) = result.edits
    assert (edit.kind, edit.new_text, edit.start, edit.end) == ("insert", "NEW", pytest.approx(edit.start), edit.start)
    words = transcript.words
    assert words[1].end <= edit.start <= words[2].start  # in the pause between bravo and charlie
    (request,) = engine.requests
    assert request.text == "NEW"
    assert request.before == "alpha bravo" and request.after == "charlie delta echo"
    # the prompt: the longer run of whole words next to the edit (here the 1.5 s after it), with its text
    assert request.prompt_text == "charlie delta echo"
    assert request.prompt.duration == pytest.approx(words[4].end - words[2].start + 0.1, abs=0.01)
    assert request.prompt.sample_rate == RATE
    assert request.words_per_second == pytest.approx(5 / (words[4].end - words[0].start), rel=0.3)
    # The new speech: at the recording's rate, as loud as the speech around it, with its background.
    inserted = Audio(result.audio.samples[round(edit.out_start * RATE): round(edit.out_end * RATE)], RATE)
    context = Audio(np.concatenate([audio.samples[max(0, round((edit.start - 2) * RATE)): round(edit.start * RATE)],
                                    audio.samples[round(edit.end * RATE): round((edit.end + 2) * RATE)]]), RATE)
    assert loudness(inserted) == pytest.approx(loudness(context), abs=1.0)
    pad = inserted.samples[: int(0.04 * RATE)]
    assert 10 * np.log10(np.mean(pad.astype(np.float64) ** 2)) == pytest.approx(FLOOR_DBFS, abs=3.0)
    assert power_at(inserted, 900.0) > 100 * power_at(audio, 900.0, edit.start - 0.5, edit.start + 0.5)
    assert edit.provenance == {"engine_id": "fake", "seed": 5}
    assert all(seam_click_ratio(result.audio, at) <= 1.0 for at in result.seams)
    # Every original sample is kept (an insert removes nothing; its fades lie in the kept pause).
    assert result.audio.duration == pytest.approx(audio.duration + edit.out_end - edit.out_start, abs=1e-6)
    new_word = next(w for w in result.words if w.text == "NEW")
    assert edit.out_start <= new_word.start < new_word.end <= edit.out_end


def test_replace_insert_and_delete_in_one_pass() -> None:
    audio, transcript = recording([0.3, 0.3, 0.3, 0.3])
    engine = FakeEngine()
    edited = "Well alpha, bravo — charles and more delta."
    result = TranscriptEditor(engine, crossfade_s=XF).apply(audio, transcript, edited)
    assert [(e.kind, e.old_text, e.new_text) for e in result.edits] == [
        ("insert", "", "Well"), ("replace", "charlie", "charles and more"), ("delete", "echo", "")]
    assert [r.text for r in engine.requests] == ["Well", "charles and more"]
    assert power_at(result.audio, pitch(2)) < 1e-3 * power_at(audio, pitch(2))  # charlie replaced
    assert power_at(result.audio, pitch(4)) < 1e-3 * power_at(audio, pitch(4))  # echo deleted
    starts = [e.out_start for e in result.edits]
    assert starts == sorted(starts)
    assert [w.text for w in result.words] == ["Well", "alpha,", "bravo —", "charles", "and", "more", "delta."]
    times = [t for w in result.words for t in (w.start, w.end)]
    assert times == sorted(times) and times[-1] <= result.audio.duration
    assert result.text == edited
    as_dict = result.edits[1].to_dict()
    assert set(as_dict) == {"kind", "old_text", "new_text", "start", "end", "out_start", "out_end", "provenance",
                            "check"}
    assert as_dict["check"] is None  # no recogniser given: not checked
    assert isinstance(result.edits[0], AppliedEdit)


# ------------------------------------------------------------------------------------------ bad input


def test_refusals() -> None:
    audio, transcript = recording([0.3, 0.3])
    editor = TranscriptEditor(crossfade_s=XF)
    with pytest.raises(EditError, match="(?i)no speech"):
        editor.apply(audio, Transcript("", ()), "alpha")
    with pytest.raises(EditError, match="(?i)no speech"):
        editor.plan(Transcript("", ()), "alpha")
    with pytest.raises(EditError, match="Nothing changed"):
        editor.apply(audio, transcript, "Alpha, bravo... Charlie!")
    with pytest.raises(EditError, match="delete everything"):
        editor.apply(audio, transcript, " ... ")
    with pytest.raises(EditError, match="needs a speech engine"):
        editor.apply(audio, transcript, "alpha bravo zulu charlie")
    with pytest.raises(EditError, match="does not belong"):
        editor.apply(Audio(audio.samples[: RATE // 2], RATE), transcript, "alpha charlie")
    with pytest.raises(EditError, match="(?i)silent"):
        editor.apply(Audio(np.zeros(RATE, np.float32), RATE), transcript, "alpha charlie")
    bad = TranscriptEditor(lambda request: np.zeros(10), crossfade_s=XF)  # type: ignore[arg-type, return-value]
    with pytest.raises(EditError, match="must return"):
        bad.apply(audio, transcript, "alpha bravo zulu charlie")
    mute = TranscriptEditor(lambda request: (Audio(np.zeros(RATE, np.float32), RATE), {}), crossfade_s=XF)
    with pytest.raises(EditError, match="no speech for 'zulu'"):
        mute.apply(audio, transcript, "alpha bravo zulu charlie")
    with pytest.raises(ValueError):
        TranscriptEditor(min_pause_s=0.5, max_pause_s=0.1)


def test_plan_lists_the_edits_without_touching_audio() -> None:
    _, transcript = recording([0.3, 0.3])
    edits = TranscriptEditor().plan(transcript, "alpha charlies")
    assert [(e.kind, e.start, e.end) for e in edits] == [("replace", 1, 3)]


# ------------------------------------------------------------------------------------------- room tone


def test_room_tone_comes_from_the_pauses_at_their_level() -> None:
    audio, transcript = recording([0.5, 0.5, 0.5])
    tone = room_tone(audio, transcript.words, 2.5)
    assert tone.num_samples == int(2.5 * RATE) and tone.sample_rate == RATE
    level = 10 * np.log10(np.mean(tone.samples.astype(np.float64) ** 2))
    assert level == pytest.approx(FLOOR_DBFS, abs=1.5)
    for k in range(4):  # no word in it: at each word's pitch, only the noise's share
        assert power_at(tone, pitch(k)) < 1e-4 * power_at(audio, pitch(k))
    # Without word timings it falls back to the quietest stretches of the whole recording.
    assert 10 * np.log10(np.mean(room_tone(audio, (), 1.0).samples.astype(np.float64) ** 2)) == \
        pytest.approx(FLOOR_DBFS, abs=1.5)
    assert not room_tone(Audio(np.zeros(RATE, np.float32), RATE), (), 0.5).samples.any()
    with pytest.raises(EditError):
        room_tone(audio, (), -1.0)


def test_match_to_context_sets_loudness_and_background() -> None:
    audio, transcript = recording([0.5, 0.5, 0.5])
    quiet = np.concatenate([np.zeros(3200, np.float32), burst(0.5, 700.0, amplitude=0.02), np.zeros(3200, np.float32)])
    piece = Audio(quiet, RATE)
    matched = match_to_context(piece, audio)
    assert loudness(matched) == pytest.approx(loudness(audio), abs=0.5)
    lead = matched.samples[:3000].astype(np.float64)
    assert 10 * np.log10(np.mean(lead ** 2)) == pytest.approx(FLOOR_DBFS, abs=3.0)
    assert noise_floor_db(matched, 0.0, matched.duration) == pytest.approx(FLOOR_DBFS, abs=3.0)
    # A given tone is used instead, and never louder than the context's own floor.
    loud_tone = Audio(np.random.default_rng(1).normal(0, 0.01, RATE).astype(np.float32), RATE)  # -40 dBFS
    capped = match_to_context(piece, audio, tone=loud_tone)
    assert 10 * np.log10(np.mean(capped.samples[:3000].astype(np.float64) ** 2)) < FLOOR_DBFS + 4.0
    # No clipping however loud the context.
    shout = Audio(np.clip(audio.samples * 8, -1, 1), RATE)
    assert np.max(np.abs(match_to_context(piece, shout).samples)) <= 10 ** (-1 / 20) + 1e-6
    # A digitally silent context: level left alone, no tone.
    silent = match_to_context(piece, Audio(np.zeros(RATE, np.float32), RATE))
    assert np.array_equal(silent.samples, piece.samples)
