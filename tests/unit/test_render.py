"""Rendering a script (pipelines.narration.render): pieces placed exactly where their lengths and pauses say,
words shifted with them, no clicks at the joins, chapters where the section changes, mastering to a target
with its report, and a manifest that says which parts are synthetic."""
from __future__ import annotations

import json

import numpy as np
import pytest

from pipelines.audio import Audio
from pipelines.audio.chapters import Chapter
from pipelines.base import Word
from pipelines.narration.render import OPENING, RenderPiece, manifest, render

RATE = 24000


def voice(seconds: float, rate: int = RATE, freq: float = 185.0, amplitude: float = 0.3) -> Audio:
    """A buzzy vowel-like tone that starts and stops mid-cycle at full level (the worst case for clicks)."""
    t = np.arange(int(round(seconds * rate))) / rate
    x = amplitude * (np.sin(2 * np.pi * freq * t + 0.7) + 0.4 * np.sin(2 * np.pi * 3 * freq * t + 1.1))
    return Audio(x.astype(np.float32), rate)


def piece(seconds: float, *, rate: int = RATE, pause: float = 0.3, section: str | None = None,
          words: tuple[Word, ...] = (), synthetic: bool = True, seg: int | None = None,
          voice_name: str | None = "Ada", engine: str | None = "kokoro") -> RenderPiece:
    return RenderPiece(audio=voice(seconds, rate), words=words, text=" ".join(w.text for w in words),
                       section=section, pause_after_s=pause, voice=voice_name, engine=engine, synthetic=synthetic,
                       segment_id=seg, take_id=None if seg is None else seg * 10)


def test_pieces_and_pauses_add_up_and_words_shift_exactly():
    words = (Word("Hello", 0.05, 0.4, 0.9), Word("there.", 0.45, 0.9))
    pieces = [piece(1.0, pause=0.5, words=words, seg=1), piece(0.8, pause=0.25, words=words, seg=2),
              piece(1.2, pause=0.7, words=words, seg=3)]
    out = render(pieces)
    assert out.audio.sample_rate == RATE
    assert abs(out.duration - (1.0 + 0.5 + 0.8 + 0.25 + 1.2)) < 0.003  # no pause after the last piece
    starts = [0.0, 1.5, 2.55]
    assert [s.start_s for s in out.spans] == pytest.approx(starts, abs=1e-9)
    assert [s.end_s for s in out.spans] == pytest.approx([1.0, 2.3, 3.75], abs=1e-9)
    assert [(s.segment_id, s.take_id) for s in out.spans] == [(1, 10), (2, 20), (3, 30)]
    assert len(out.words) == 6
    for i, start in enumerate(starts):
        for w, original in zip(out.words[2 * i:2 * i + 2], words):
            assert (w.text, w.confidence) == (original.text, original.confidence)
            assert w.start == pytest.approx(original.start + start, abs=1e-9)
            assert w.end == pytest.approx(original.end + start, abs=1e-9)
    # The pauses are silent and every piece's middle is untouched.
    x = out.audio.samples
    assert np.max(np.abs(x[int(1.02 * RATE):int(1.48 * RATE)])) == 0.0
    middle = voice(0.8).samples[RATE // 10: RATE // 2]
    np.testing.assert_allclose(x[int(1.5 * RATE) + RATE // 10: int(1.5 * RATE) + RATE // 2], middle, atol=1e-6)
    assert out.level is None and out.chapters == ()


@pytest.mark.parametrize("pause", [0.0, 0.2])
def test_no_click_at_the_joins(pause):
    pieces = [piece(0.5, pause=pause) for _ in range(3)]
    out = render(pieces)
    own = max(float(np.max(np.abs(np.diff(p.audio.samples)))) for p in pieces)
    x = out.audio.samples
    for span in out.spans[1:]:  # every join: the end of one piece, its pause, the start of the next
        join = int(round(span.start_s * RATE))
        window = x[join - int((pause + 0.03) * RATE): join + int(0.03 * RATE)]
        assert float(np.max(np.abs(np.diff(window)))) <= own + 1e-6
    # Without the fades a piece ending at full level would jump straight to silence.
    hard = render(pieces, crossfade_s=0.0).audio.samples
    join = int(round(out.spans[1].start_s * RATE))
    assert float(np.max(np.abs(np.diff(hard[join - int((pause + 0.03) * RATE): join + 300])))) > own


def test_mixed_rates_go_to_the_most_common_or_the_asked_rate():
    words = (Word("one", 0.1, 0.3),)
    pieces = [piece(0.5, rate=22050, words=words), piece(0.5, rate=24000, words=words),
              piece(0.5, rate=22050, words=words)]
    out = render(pieces)
    assert out.audio.sample_rate == 22050
    assert abs(out.duration - 2.1) < 0.003
    assert [w.start for w in out.words] == pytest.approx([0.1, 0.9, 1.7], abs=1e-4)
    asked = render(pieces, sample_rate=48000)
    assert asked.audio.sample_rate == 48000 and abs(asked.duration - 2.1) < 0.003
    tie = render([piece(0.3, rate=16000), piece(0.3, rate=44100)])
    assert tie.audio.sample_rate == 44100  # on a tie the higher rate: nothing loses bandwidth


def test_chapters_where_the_section_changes():
    pieces = [piece(0.5, section=None), piece(0.5, section="One"), piece(0.5, section=None),
              piece(0.5, section="Two"), piece(0.5, section="Two"), piece(0.5, section="Three")]
    out = render(pieces)
    assert [c.title for c in out.chapters] == [OPENING, "One", "Two", "Three"]
    assert [c.start_s for c in out.chapters] == pytest.approx([0.0, 0.8, 2.4, 4.0], abs=1e-9)
    assert all(isinstance(c, Chapter) for c in out.chapters)
    # An empty untitled opening is no chapter: the first section starts the file.
    empty = RenderPiece(Audio(np.zeros(0, np.float32), RATE), (), "", None, 0.4, None, None, False)
    out = render([empty, piece(0.5, section="One"), piece(0.5, section="Two")])
    assert [(c.title, c.start_s) for c in out.chapters] == [("One", 0.0), ("Two", pytest.approx(1.2))]
    assert out.spans[1].start_s == pytest.approx(0.4)
    assert render([piece(0.5), piece(0.5)]).chapters == ()


def test_target_mastering_reports_pass_and_keeps_timings():
    words = (Word("Hi", 0.1, 0.3),)
    pieces = [piece(1.5, words=words, section="A"), piece(1.5, words=words, section="B")]
    out = render(pieces, target="podcast")
    plain = render(pieces)
    assert out.level is not None and out.level.target.name == "podcast"
    assert out.level.met, out.level.problems
    assert -17.0 <= out.level.after.integrated_lufs <= -15.0
    assert out.audio.num_samples == plain.audio.num_samples  # mastering does not trim: timings stay true
    assert [w.start for w in out.words] == [w.start for w in plain.words]
    data = manifest(out)
    assert data["target"] == "podcast" and data["passed"] is True and data["problems"] == []
    # A target a clip cannot meet is reported, not raised (ACX wants a -60 dB floor; this hum is the floor).
    noisy = [RenderPiece(Audio((voice(2.0).samples + 0.02 * np.random.default_rng(0).standard_normal(2 * RATE))
                               .astype(np.float32), RATE), (), "", None, 0.0, None, None, False)]
    missed = render(noisy, target="audiobook")
    assert missed.level is not None and not missed.level.met and missed.level.problems
    assert manifest(missed)["passed"] is False


def test_manifest_says_what_is_synthetic_and_is_json():
    pieces = [piece(0.5, section="Intro", seg=1, voice_name="Ada", engine="kokoro"),
              piece(0.5, section="Intro", seg=2, synthetic=False, voice_name="Me", engine=None)]
    data = manifest(render(pieces))
    json.dumps(data, allow_nan=False)
    assert data["duration_s"] == pytest.approx(1.3) and data["sample_rate"] == RATE
    assert [s["synthetic"] for s in data["spans"]] == [True, False]
    assert [(s["voice"], s["engine"]) for s in data["spans"]] == [("Ada", "kokoro"), ("Me", None)]
    assert data["synthetic"] is True and data["synthetic_s"] == pytest.approx(0.5)
    assert data["chapters"] == [{"title": "Intro", "start_s": 0.0, "end_s": 1.3}]
    assert data["target"] is None and data["passed"] is None


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="Nothing to render"):
        render([])
    with pytest.raises(ValueError, match="pause"):
        render([piece(0.5, pause=-1.0), piece(0.5)])
    with pytest.raises(ValueError, match="crossfade"):
        render([piece(0.5)], crossfade_s=0.5)
