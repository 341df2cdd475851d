"""The embedded voice matcher (pipelines.convert.world) on real speech: it moves a recording towards another
speaker, keeps the words, the length and the pauses, and refuses what it cannot match."""
from __future__ import annotations

import numpy as np
import pytest

from pipelines import audio as au
from pipelines.base import VoicePrompt
from pipelines.convert.world import BLOCK_S, MAX_TARGET_FRAMES, MatchSettings, WorldMatcher, quiet_cuts
from pipelines.scoring import word_error_rate
from pipelines.speaker import similarity
from tests.conftest import speech_clip, speech_manifest

SOURCE = "coqui_lj_LJ001-0006"  # LJ Speech, female
TARGET = "resemblyzer_ls_6848-252322-0000"  # a LibriSpeech male speaker


@pytest.fixture(scope="module")
def matcher() -> WorldMatcher:
    pytest.importorskip("pyworld")
    return WorldMatcher.from_pretrained(None)


@pytest.fixture(scope="module")
def halves():
    """The target's clip cut in two: the first half is the voice, the second is held out for scoring."""
    audio = au.load(speech_clip(TARGET))
    middle = len(audio.samples) // 2
    return au.Audio(audio.samples[:middle], audio.sample_rate), au.Audio(audio.samples[middle:], audio.sample_rate)


@pytest.fixture(scope="module")
def target(matcher, halves):
    return matcher.profile([halves[0]])


@pytest.fixture(scope="module")
def converted(matcher, halves):
    source = au.load(speech_clip(SOURCE))
    return source, matcher(source, voice=VoicePrompt(clips=(halves[0],)))


def _median_f0(matcher: WorldMatcher, audio: au.Audio) -> float:
    f0, _, _ = matcher.analyse(au.resample(audio, 24000))
    return float(np.median(f0[f0 > 0]))


def test_matching_moves_the_voice_towards_the_target_and_keeps_length_and_rate(matcher, converted, halves, models):
    source, result = converted
    assert result.sample_rate == matcher.sample_rate == 24000  # the task's call comes at the engine's rate
    assert result.duration == pytest.approx(source.duration, abs=1e-3)
    encoder = models.get("resemblyzer")
    held_out = encoder(halves[1])
    before = similarity(encoder(au.trim_silence(source)), held_out)
    after = similarity(encoder(au.trim_silence(result)), held_out)
    assert after >= before + 0.05, (before, after)
    # A female source towards a male target: the pitch comes down to about the target's.
    assert _median_f0(matcher, result) == pytest.approx(_median_f0(matcher, halves[0]), rel=0.15)
    assert _median_f0(matcher, result) < 0.75 * _median_f0(matcher, source)


def test_the_words_survive_matching(converted, models):
    source, result = converted
    transcript = speech_manifest()[SOURCE]["transcript"]
    heard = models.get("whisper-base-embedded")(result, language="en").text
    before = word_error_rate(transcript, models.get("whisper-base-embedded")(source, language="en").text)
    assert word_error_rate(transcript, heard) <= before + 0.1, heard


def test_pauses_are_copied_bit_for_bit_and_loudness_is_kept(matcher, target):
    source = au.load(speech_clip(SOURCE))
    pause = np.zeros(source.sample_rate, np.float32)  # one second of digital silence between two sentences
    padded = au.Audio(np.concatenate([source.samples, pause, source.samples]), source.sample_rate)
    result = matcher.convert(padded, target)
    assert result.sample_rate == padded.sample_rate and len(result.samples) == len(padded.samples)
    start = len(source.samples)
    inner = slice(start + source.sample_rate // 10, start + source.sample_rate - source.sample_rate // 10)
    assert np.array_equal(result.samples[inner], padded.samples[inner])
    assert au.loudness(result) == pytest.approx(au.loudness(padded), abs=0.5)
    loose = matcher.convert(padded, target, settings=MatchSettings(keep_silence=False, keep_loudness=False))
    assert not np.array_equal(loose.samples[inner], padded.samples[inner])


def test_pitch_shift_moves_by_semitones(matcher, target):
    source = au.load(speech_clip(SOURCE))
    plain = matcher.convert(source, target)
    octave_up = matcher.convert(source, target, settings=MatchSettings(pitch_shift=12.0))
    assert _median_f0(matcher, octave_up) == pytest.approx(2 * _median_f0(matcher, plain), rel=0.1)


def test_any_sample_rate_in_is_the_same_rate_out(matcher, halves):
    """`convert` keeps the input's rate and exact length (splicing needs it); clips at any rate make a voice."""
    source = au.load(speech_clip(SOURCE))
    target = matcher.profile([au.resample(halves[0], 8000)])
    for rate in (16000, 44100):
        resampled = au.resample(source, rate)
        result = matcher.convert(resampled, target)
        assert result.sample_rate == rate and len(result.samples) == len(resampled.samples)


def test_long_input_is_converted_in_blocks_cut_at_quiet_points(matcher, target):
    source = au.load(speech_clip(SOURCE))
    repeats = int(2.5 * BLOCK_S / source.duration) + 1
    long = au.Audio(np.tile(source.samples, repeats), source.sample_rate)
    work = au.resample(long, 24000).samples
    cuts = quiet_cuts(work)
    assert len(cuts) >= 2 and cuts[0][0] == 0 and cuts[-1][1] == len(work)
    assert all(a[1] == b[0] for a, b in zip(cuts, cuts[1:]))
    assert all(b - a <= (BLOCK_S + 1) * 24000 for a, b in cuts[:-1])
    result = matcher.convert(long, target)
    assert len(result.samples) == len(long.samples) and np.isfinite(result.samples).all()
    # Its profile is measured block by block too, with the frames kept for kNN thinned to a bound.
    profile = matcher.profile([long])
    assert len(profile.frames) <= MAX_TARGET_FRAMES and profile.voiced_s > 0.5 * long.duration


def test_no_speech_is_refused_with_a_reason(matcher, halves):
    rng = np.random.default_rng(0)
    hiss = au.Audio((0.05 * rng.standard_normal(48000)).astype(np.float32), 16000)
    with pytest.raises(ValueError, match="too little voiced speech"):
        matcher(hiss, voice=VoicePrompt(clips=(halves[0],)))
    with pytest.raises(ValueError, match="the voice has too little voiced speech"):
        matcher(au.load(speech_clip(SOURCE)), voice=VoicePrompt(clips=(hiss,)))


@pytest.mark.parametrize("options, message", [
    ({"timbre": 1.5}, "timbre"), ({"pitch_shift": 24}, "semitones"), ({"warp_per_octave": -1}, "warp"),
    ({"neighbours": 0}, "neighbours")])
def test_settings_out_of_range_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        MatchSettings(**options)


def test_words_spliced_into_a_recording_take_less_of_its_timbre_than_spoken_words(matcher, halves, target):
    """Edit's inserted words are matched with INSERT_TIMBRE (0.5), Speak and Convert with the matcher's 0.75: on
    the tuning clips the higher share cost one new word in 28 its recognition for 0.003 similarity."""
    import dataclasses

    from studio.voice_match import INSERT_TIMBRE, RecordingMatch
    source_audio = au.load(speech_clip(SOURCE))
    speech = au.Audio(source_audio.samples[: 2 * source_audio.sample_rate], source_audio.sample_rate)
    source = matcher.profile([source_audio])
    match = RecordingMatch("joe", matcher, source, target, words_per_second=2.5)
    rendered = match.render(speech, halves[0])
    local = matcher.profile([halves[0]])
    at_context = dataclasses.replace(target, log_f0_mean=local.log_f0_mean, log_f0_std=local.log_f0_std)
    def matched(timbre: float) -> au.Audio:
        return matcher.convert(speech, at_context, source=source, settings=MatchSettings(keep_silence=False,
                                                                                          timbre=timbre))
    assert INSERT_TIMBRE < MatchSettings().timbre
    assert np.array_equal(rendered.samples, matched(INSERT_TIMBRE).samples)
    assert not np.array_equal(rendered.samples, matched(MatchSettings().timbre).samples)
