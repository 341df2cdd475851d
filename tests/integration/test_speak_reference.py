"""A cloner's voice reference is fitted to the engine's limit (catalog `max_reference_s`): whole clips while
they fit, the overflowing clip cut at a quiet point, and the Speak result says so. Real recordings, and a
tiny random Pocket TTS loaded through the model manager's Hugging Face cache path like a downloaded one."""
from __future__ import annotations

import numpy as np
import pytest

from pipelines import audio as au
from pipelines.base import VoicePrompt
from pipelines.speak.reference import MIN_REFERENCE_S, SEARCH_S, fit_reference
from tests.conftest import needs_speech, speech_clip

LONG = "deb_asterisk_en_conf-adminmenu-menu8"  # 17.3 s, Allison Smith, with pauses between phrases
NINE_A, NINE_B = "coqui_lj_LJ001-0001", "coqui_lj_LJ001-0003"  # 9.7 s each, LJ Speech


def _clip(clip_id: str) -> au.Audio:
    return au.trim_silence(au.load(speech_clip(clip_id)))


def _frame_rms(audio: au.Audio, at: float, half_s: float = 0.005) -> float:
    a, b = int((at - half_s) * audio.sample_rate), int((at + half_s) * audio.sample_rate)
    return float(np.sqrt(np.mean(audio.samples[max(0, a):b].astype(np.float64) ** 2)))


def test_a_reference_within_the_limit_is_used_whole():
    voice = VoicePrompt(clips=(_clip(NINE_A),), transcripts=("text",))
    fitted = fit_reference(voice, 15.0)
    assert fitted.voice is voice and not fitted.trimmed and fitted.used_s == fitted.original_s


def test_one_long_clip_is_cut_at_a_quiet_point_before_the_limit():
    clip = _clip(LONG)
    fitted = fit_reference(VoicePrompt(clips=(clip,), transcripts=("what she says",)), 15.0)
    (piece,) = fitted.voice.clips
    assert fitted.trimmed and fitted.original_s == pytest.approx(clip.duration)
    assert 15.0 - SEARCH_S - 0.01 <= piece.duration <= 15.0 and fitted.used_s == pytest.approx(piece.duration)
    # the cut is a pause, not a word: far quieter than the speech around it
    levels = [_frame_rms(clip, t) for t in np.arange(0.5, clip.duration - 0.5, 0.01)]
    assert _frame_rms(clip, piece.duration) < 0.1 * float(np.median(levels))
    assert np.array_equal(piece.samples[: piece.num_samples // 2], clip.samples[: piece.num_samples // 2])
    assert abs(float(piece.samples[-1])) < 1e-3  # faded out
    assert fitted.voice.transcripts == (None,)  # the words no longer match the audio
    assert "trimmed to" in fitted.notice("Pocket TTS", 15.0) and "at most 15 s" in fitted.notice("Pocket TTS", 15.0)


def test_whole_clips_are_kept_in_order_and_the_overflowing_one_is_cut():
    a, b = _clip(NINE_A), _clip(NINE_B)
    fitted = fit_reference(VoicePrompt(clips=(a, b), transcripts=("first", "second")), 15.0)
    first, second = fitted.voice.clips
    assert first is a and fitted.voice.transcripts == ("first", None)
    assert second.duration <= 15.0 - a.duration + 1e-6 and second.duration >= 15.0 - a.duration - SEARCH_S - 0.01
    assert 13.0 < fitted.used_s <= 15.0


def test_a_clip_that_would_leave_less_than_a_second_is_left_out():
    a, b = _clip(NINE_A), _clip(NINE_B)
    fitted = fit_reference(VoicePrompt(clips=(a, b)), a.duration + 0.5)
    assert fitted.voice.clips == (a,) and fitted.used_s == pytest.approx(a.duration)


def test_a_reference_under_one_second_is_refused():
    clip = _clip(NINE_A)
    short = au.Audio(clip.samples[: int(0.8 * clip.sample_rate)], clip.sample_rate)
    with pytest.raises(au.AudioError, match=f"at least {MIN_REFERENCE_S:g} s of speech"):
        fit_reference(VoicePrompt(clips=(short,)), 15.0)
    with pytest.raises(ValueError, match="max_seconds"):
        fit_reference(VoicePrompt(clips=(clip,)), 0.5)


def test_whole_clips_keep_clips_in_order_while_they_fit_with_their_words():
    """The one way every cloner collects its reference: whole clips at its rate, silence trimmed, in order while
    they fit (the first always: the engine cuts or refuses it), their words when it reads them."""
    from pipelines.speak.reference import whole_clips

    a, b = _clip(NINE_A), _clip(NINE_B)
    voice = VoicePrompt(clips=(a, b), transcripts=("first words", "second  words "))
    both = whole_clips(voice, 24_000, 30.0, engine="X", min_seconds=1.0, with_words=True)
    assert [c.sample_rate for c in both.clips] == [24_000, 24_000] and both.words == ("first words", "second words")
    assert both.seconds == pytest.approx(a.duration + b.duration, abs=0.2)
    one = whole_clips(voice, 24_000, 15.0, engine="X", min_seconds=1.0)
    assert len(one.clips) == 1 and one.joined(5.0).duration == pytest.approx(5.0)
    assert len(whole_clips(voice, 24_000, 3.0, engine="X", min_seconds=1.0).clips) == 1  # the first, however long
    with pytest.raises(ValueError, match=r"clip 1 is \d+\.\d s long, over max_voice_seconds=3; X uses whole clips"):
        whole_clips(voice, 24_000, 3.0, engine="X", min_seconds=1.0, with_words=True)  # cut, its words would lie
    with pytest.raises(ValueError, match="clip 2 of 2 has no transcript: X needs"):
        whole_clips(VoicePrompt(clips=(a, b), transcripts=("first",)), 24_000, 30.0, engine="X", min_seconds=1.0,
                    with_words=True)
    with pytest.raises(ValueError, match="X needs at least 20 s"):
        whole_clips(voice, 24_000, 30.0, engine="X", min_seconds=20.0)
    with pytest.raises(ValueError, match="reference clip is required: X"):
        whole_clips(None, 24_000, 30.0, engine="X", min_seconds=1.0)


# ----------------------------------------------------------------------- through the studio, tiny cloner


@pytest.fixture(scope="module")
def cloning_studio(tmp_path_factory):
    """A studio whose Pocket TTS is a tiny random checkpoint in a Hugging Face cache, loaded by the manager."""
    pytest.importorskip("transformers")
    pytest.importorskip("resemblyzer")
    from pipelines.catalog import Catalog
    from pipelines.manager import ModelManager
    from studio.config import Settings
    from studio.service import Studio
    from storage import Store
    from tests.tiny.hub_cache import install_in_hub_cache
    from tests.tiny.pocket_tts import BUILDERS, COMPONENTS

    root = tmp_path_factory.mktemp("cloner")
    catalog = Catalog.load()
    engine = catalog.get("pocket-tts")
    install_in_hub_cache(root / "hub", engine.hub_repo, engine.revision, BUILDERS["pocket-tts"](root / "model"))
    (codec,) = engine.components
    install_in_hub_cache(root / "hub", codec.repo, codec.revision,
                         COMPONENTS["pocket-tts"]["audio_tokenizer_path"](root / "codec"))
    settings = Settings(data_dir=root / "data", max_audio_seconds=60)
    settings.data_dir.mkdir(parents=True)
    studio = Studio(Store.open(settings.data_dir), settings,
                    models=ModelManager(catalog, cache_dir=root / "hub", device="cpu"))
    yield studio
    studio.close()


@pytest.mark.slow
@needs_speech  # before the tiny cloner is built
def test_speaking_with_a_long_reference_trims_it_and_says_so(cloning_studio):
    studio = cloning_studio
    project = studio.projects.list()[0].id
    voice = studio.voices.create(project, "Linda", clip_inputs(), consent=True)
    total = sum(c.duration for c in studio.voices.get(voice.id).clips)
    assert total > 15.0
    heard: list[VoicePrompt] = []
    real = studio.models.get("pocket-tts")

    class Listening:  # the real tiny engine, noting the voice it is given
        def __getattr__(self, name):
            return getattr(real, name)

        def __call__(self, text, **kwargs):
            heard.append(kwargs["voice"])
            return real(text, **kwargs)

    original_get = studio.models.get
    studio.models.get = lambda engine_id, progress=None: (Listening() if engine_id == "pocket-tts"
                                                         else original_get(engine_id, progress))
    try:
        events = list(studio.speak.speak(project, "Hello there.", voice_id=voice.id, engine_id="pocket-tts",
                                            seed=1, gate=False))
    finally:
        studio.models.get = original_get
    done = events[-1]
    (notice,) = done.notices
    assert f"is {total:.1f} s long" in notice and "uses at most 15 s" in notice
    assert all(e.notices == (notice,) for e in events)
    used = sum(c.duration for c in heard[0].clips)
    assert 15.0 - SEARCH_S - 0.01 <= used <= 15.0
    with pytest.raises(ValueError, match="no speed control"):
        studio.speak.speak(project, "Hello there.", voice_id=voice.id, engine_id="pocket-tts", speed=1.2)
    reference = studio.takes.get(done.take.id).parameters["reference"]
    assert reference["original_s"] == pytest.approx(total, abs=1e-3) and reference["used_s"] == pytest.approx(used,
                                                                                                             abs=1e-3)


def clip_inputs() -> list:
    """The two 9.7 s references as upload inputs (built inside the test: without ../shared it skips)."""
    from studio.voices import ClipInput

    return [ClipInput(speech_clip(NINE_A), "Printing, in the only sense with which we are at present concerned."),
            ClipInput(speech_clip(NINE_B), None)]
