"""Placing a sound under narration (issue #14): outside the sound's span the narration is bit-exact, the sound
sits `duck_db` lower under speech than away from it, it fades, loops and stops at the narration's end."""
from __future__ import annotations

import numpy as np
import pytest

from pipelines.audio import Audio
from pipelines.sound.placement import CEILING, Placement, duck_curve, make_loopable, place

RATE = 16_000


def _narration(seconds: float = 6.0) -> Audio:
    """Speech-like bursts (a 180 Hz buzz) at 1-2 s and 3.5-4.5 s, silence between."""
    t = np.arange(int(seconds * RATE)) / RATE
    samples = np.zeros_like(t)
    for a, b in ((1.0, 2.0), (3.5, 4.5)):
        inside = (t >= a) & (t < b)
        samples[inside] = 0.3 * np.sin(2 * np.pi * 180 * t[inside])
    return Audio(samples.astype(np.float32), RATE)


SPEECH = [(1.0, 2.0), (3.5, 4.5)]


def _noise(seconds: float, level: float = 0.05, seed: int = 0, rate: int = RATE) -> Audio:
    return Audio((level * np.random.default_rng(seed).standard_normal(int(seconds * rate))).astype(np.float32), rate)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))


def test_outside_the_sound_the_narration_is_bit_exact_and_under_speech_it_is_ducked_by_the_set_amount():
    narration, bed = _narration(), _noise(3.0)
    placed = place(narration, bed, SPEECH, Placement(at_s=0.5, duck_db=12.0, fade_in_s=0.0, fade_out_s=0.0,
                                                     duck_ramp_s=0.1))
    a, b = int(0.5 * RATE), int(3.5 * RATE)
    assert placed.start_s == 0.5 and placed.end_s == 3.5 and not placed.cut_at_end and placed.scaled_db == 0.0
    out = placed.audio.samples
    assert np.array_equal(out[:a], narration.samples[:a]) and np.array_equal(out[b:], narration.samples[b:])
    layer = out[a:b].astype(np.float64) - narration.samples[a:b]  # what was added: the sound alone
    under = layer[int(0.6 * RATE):int(1.4 * RATE)]  # 1.1-1.9 s of the narration: speech
    away = layer[int(1.7 * RATE):int(2.8 * RATE)]  # 2.2-3.3 s: no speech, past the ramps
    bed_under = bed.samples[int(0.6 * RATE):int(1.4 * RATE)]
    bed_away = bed.samples[int(1.7 * RATE):int(2.8 * RATE)]
    assert 20 * np.log10(_rms(under) / _rms(bed_under)) == pytest.approx(-12.0, abs=0.01)
    assert 20 * np.log10(_rms(away) / _rms(bed_away)) == pytest.approx(0.0, abs=0.01)


def test_the_dip_is_complete_when_speech_starts_and_ramps_without_a_step():
    curve = duck_curve(3 * RATE, RATE, 0.0, [(1.0, 2.0)], 20.0, 0.2)
    low = 10 ** (-20 / 20)
    assert curve[int(1.0 * RATE)] == pytest.approx(low) and curve[int(1.99 * RATE)] == pytest.approx(low)
    assert curve[int(0.7 * RATE)] == 1.0 and curve[int(2.3 * RATE)] == 1.0
    assert np.max(np.abs(np.diff(curve))) < 0.001  # 0.2 s ramps: no jump between samples
    assert np.all(np.diff(curve[int(0.8 * RATE):int(1.0 * RATE)]) <= 0)  # falling into the speech


def test_looping_fills_the_length_and_a_sound_past_the_end_is_cut_there():
    narration, bed = _narration(), _noise(0.7)
    placed = place(narration, bed, [], Placement(at_s=2.0, loop=True, fade_in_s=0.0, fade_out_s=0.0))
    assert placed.end_s == pytest.approx(6.0) and not placed.cut_at_end  # looped to the end by default
    added = placed.audio.samples[int(2.0 * RATE):] - narration.samples[int(2.0 * RATE):]
    assert _rms(added[-int(0.5 * RATE):]) > 0.03  # still sounding in the last half second
    longer = place(narration, _noise(10.0), [], Placement(at_s=4.0))
    assert longer.cut_at_end and longer.end_s == pytest.approx(6.0)
    assert longer.audio.num_samples == narration.num_samples  # the narration never grows


def test_fades_start_and_end_the_sound_quietly():
    narration = Audio(np.zeros(4 * RATE, np.float32), RATE)
    placed = place(narration, _noise(2.0, level=0.2), [], Placement(at_s=1.0, fade_in_s=0.3, fade_out_s=0.3))
    out = placed.audio.samples
    assert abs(out[int(1.0 * RATE)]) < 0.01 and abs(out[int(3.0 * RATE) - 1]) < 0.01
    assert _rms(out[int(1.9 * RATE):int(2.1 * RATE)]) > 0.15


def test_a_sum_that_would_clip_is_lowered_over_the_span_only():
    narration = _narration()
    placed = place(narration, Audio(np.full(RATE, 0.9, np.float32), RATE), [], Placement(at_s=1.2, fade_in_s=0,
                                                                                         fade_out_s=0))
    assert placed.scaled_db < 0 and np.max(np.abs(placed.audio.samples)) <= CEILING + 1e-6
    a, b = int(1.2 * RATE), int(2.2 * RATE)
    assert np.array_equal(placed.audio.samples[:a], narration.samples[:a])
    assert np.array_equal(placed.audio.samples[b:], narration.samples[b:])


def test_a_sound_at_another_rate_is_resampled_to_the_narration():
    placed = place(_narration(), _noise(1.0, rate=44_100), [], Placement(at_s=0.2))
    assert placed.audio.sample_rate == RATE and placed.end_s == pytest.approx(1.2, abs=1e-3)


@pytest.mark.parametrize(("placement", "message"), [
    (Placement(at_s=6.0), "past the narration's end"),
    (Placement(at_s=-1.0), "past the narration's end"),
    (Placement(duck_db=-3.0), "duck_db must be from 0"),
    (Placement(length_s=0.0), "length_s must be"),
    (Placement(fade_in_s=-0.1), "must not be negative"),
    (Placement(gain_db=float("nan")), "gain_db must be a number"),
])
def test_bad_placements_are_refused_with_a_reason(placement, message):
    with pytest.raises(ValueError, match=message):
        place(_narration(), _noise(1.0), [], placement)


def test_a_loopable_sound_has_no_seam_where_its_end_meets_its_start():
    rate = 16000
    t = np.arange(int(1.3 * rate)) / rate
    tone = Audio((0.5 * np.sin(2 * np.pi * 110.3 * t)).astype(np.float32), rate)  # not a whole number of cycles

    def seam(audio: Audio) -> float:
        """The jump from the last sample to the first, against the largest step inside the sound."""
        s = audio.samples
        return abs(float(s[0] - s[-1])) / float(np.max(np.abs(np.diff(s))))

    looped = make_loopable(tone, 0.25)
    assert seam(tone) > 5.0  # a click every time it repeats
    assert seam(looped) <= 1.0
    assert looped.num_samples == tone.num_samples - int(0.25 * rate)
    assert abs(np.sqrt(np.mean(looped.samples ** 2)) - np.sqrt(np.mean(tone.samples ** 2))) < 0.05  # level kept
    assert make_loopable(tone, 0.0) is tone
