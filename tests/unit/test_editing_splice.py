"""The splice core and seam measures on synthetic audio, where every sample's fate is known."""
from __future__ import annotations

import numpy as np
import pytest

from pipelines.audio import Audio
from pipelines.editing import (EditError, Splice, apply_splices, cut, fade, insert_silence, join_takes,
                               low_energy_point, noise_floor_db, seam_click_ratio, trim)
from pipelines.editing.seams import FLOOR_DBFS

RATE = 16000
XF = 0.01  # crossfade used throughout


def noise(seconds: float, level: float = 0.1, seed: int = 0, rate: int = RATE) -> Audio:
    rng = np.random.default_rng(seed)
    return Audio(rng.normal(0.0, level, int(round(seconds * rate))).astype(np.float32), rate)


def voiced(seconds: float, f0: float = 120.0, seed: int = 0, rate: int = RATE) -> Audio:
    """Speech-like: a harmonic tone falling 12 dB per octave (a glottal source) with a slowly varying
    amplitude, plus a little breath noise."""
    t = np.arange(int(round(seconds * rate))) / rate
    rng = np.random.default_rng(seed)
    x = sum((0.3 / k**2) * np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 2 * np.pi)) for k in range(1, 30)
            if f0 * k < rate / 2)
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * 3.0 * t)
    return Audio((x * envelope + rng.normal(0, 0.002, t.size)).astype(np.float32), rate)


def kept_identical(original: Audio, result, windows: list[tuple[float, float]]) -> int:
    """Check that every original sample outside `windows` (original times) that was kept appears bit for
    bit at its shifted place; returns how many samples were compared."""
    rate = original.sample_rate
    compared = 0
    pieces = list(result.offsets) + [(original.duration + 1, 0.0)]
    for (t0, shift), (t1, _) in zip(pieces, pieces[1:]):
        a, b = int(round(t0 * rate)), min(int(round(t1 * rate)), original.num_samples)
        idx = np.arange(a, b)
        for lo, hi in [*windows, *result.removed]:  # fades, and audio the splices replaced
            idx = idx[(idx < round(lo * rate)) | (idx >= round(hi * rate))]
        out = idx + int(round(shift * rate))
        inside = (out >= 0) & (out < result.audio.num_samples)
        assert np.array_equal(result.audio.samples[out[inside]], original.samples[idx[inside]])
        compared += int(inside.sum())
    return compared


def test_cut_keeps_everything_outside_the_crossfade_bit_for_bit() -> None:
    audio = noise(2.0)
    result = cut(audio, 0.5, 0.8, crossfade_s=XF)
    assert result.audio.num_samples == audio.num_samples - int(0.3 * RATE)
    assert result.seams == pytest.approx((0.5,))
    assert result.spans == ((0.5, 0.5),)
    assert result.offsets == ((0.0, 0.0), (0.8, pytest.approx(-0.3)))
    compared = kept_identical(audio, result, [(0.5 - XF, 0.8 + XF)])
    assert compared > audio.num_samples - int(0.35 * RATE)
    # Inside the fade the samples do change (the crossfade exists).
    at = int(0.5 * RATE)
    assert not np.array_equal(result.audio.samples[at - 40: at + 40], audio.samples[at - 40: at + 40])


def test_insert_keeps_all_original_samples_and_places_the_content() -> None:
    audio = noise(2.0)
    content = noise(0.25, level=0.05, seed=3)
    result = apply_splices(audio, [Splice(1.0, 1.0, content)], XF)
    assert result.audio.num_samples == audio.num_samples + content.num_samples
    assert result.seams == pytest.approx((1.0, 1.25))
    assert result.spans == (pytest.approx((1.0, 1.25)),)
    # Handles come from the original, so no kept original sample changes at all.
    assert kept_identical(audio, result, []) == audio.num_samples
    # The middle of the content (away from its faded edges) is the content itself.
    n = int(XF * RATE)
    a = int(1.0 * RATE)
    middle = result.audio.samples[a + n: a + content.num_samples - n]
    assert np.array_equal(middle, content.samples[n:-n])


def test_replace_and_several_splices_in_one_pass() -> None:
    audio = noise(3.0)
    new = noise(0.4, level=0.05, seed=5)
    splices = [Splice(2.0, 2.5, None), Splice(0.5, 0.7, new), Splice(1.2, 1.2, noise(0.1, seed=6)), Splice(0.0, 0.1)]
    result = apply_splices(audio, splices, XF)
    expected = audio.num_samples + int(0.4 * RATE) - int(0.2 * RATE) + int(0.1 * RATE) - int(0.5 * RATE) - \
        int(0.1 * RATE)
    assert result.audio.num_samples == expected
    # spans follow the order the splices were given in, shifted by the splices before them
    assert result.spans[3] == (0.0, 0.0)
    assert result.spans[1] == pytest.approx((0.4, 0.8))
    assert result.spans[2] == pytest.approx((1.2 - 0.1 + 0.2, 1.2 - 0.1 + 0.2 + 0.1))
    assert result.spans[0] == pytest.approx((2.0 + 0.2, 2.2))
    # a cut at the very start has no seam (nothing before it); every other splice has one or two
    assert len(result.seams) == 2 + 2 + 1
    windows = [(s.start - XF, s.end + XF) for s in splices]
    assert kept_identical(audio, result, windows) > audio.num_samples - int(0.9 * RATE)
    assert result.map_time(0.05) is None and result.map_time(2.2) is None
    assert result.map_time(1.0) == pytest.approx(1.0 - 0.1 + 0.2)
    assert result.map_time(2.9) == pytest.approx(2.9 - 0.1 + 0.2 + 0.1 - 0.5)


def test_cuts_at_the_edges_fade_instead_of_stepping() -> None:
    audio = Audio(np.full(RATE, 0.5, dtype=np.float32), RATE)
    head = cut(audio, 0.0, 0.2, XF)
    assert head.seams == () and abs(head.audio.samples[0]) < 0.05
    assert head.audio.samples[int(XF * RATE)] == 0.5
    tail = cut(audio, 0.8, 1.0, XF)
    assert tail.seams == () and abs(tail.audio.samples[-1]) < 0.05 and tail.audio.num_samples == int(0.8 * RATE)


def test_touching_splices_are_allowed_and_overlapping_ones_refused() -> None:
    audio = noise(2.0)
    result = apply_splices(audio, [Splice(0.5, 0.7, noise(0.1, seed=2)), Splice(0.7, 0.9, noise(0.2, seed=3))], XF)
    assert result.audio.num_samples == audio.num_samples - int(0.1 * RATE)
    assert len(result.seams) == 3
    with pytest.raises(EditError, match="overlap"):
        apply_splices(audio, [Splice(0.5, 0.8), Splice(0.7, 0.9)], XF)
    with pytest.raises(EditError, match="overlap"):
        apply_splices(audio, [Splice(0.5, 0.8), Splice(0.6, 0.6, noise(0.1))], XF)


@pytest.mark.parametrize("splice", [Splice(-0.1, 0.2), Splice(0.5, 2.5), Splice(2.1, 2.1, None),
                                    Splice(0.8, 0.5), Splice(float("nan"), 0.5), Splice(0.1, float("inf"))])
def test_out_of_range_and_malformed_splices_are_refused(splice: Splice) -> None:
    with pytest.raises(EditError):
        apply_splices(noise(2.0), [splice], XF)


def test_bad_crossfade_and_bad_content_are_refused() -> None:
    with pytest.raises(EditError, match="crossfade"):
        cut(noise(1.0), 0.2, 0.3, crossfade_s=0.5)
    with pytest.raises(EditError):
        apply_splices(noise(1.0), [Splice(0.2, 0.3, np.zeros(10))], XF)  # type: ignore[arg-type]
    with pytest.raises(EditError):
        apply_splices(noise(1.0), ["not a splice"], XF)  # type: ignore[list-item]


def test_content_at_another_rate_is_resampled() -> None:
    audio = noise(1.0)
    content = noise(0.5, rate=22050, seed=4)
    result = apply_splices(audio, [Splice(0.5, 0.5, content)], XF)
    assert result.audio.sample_rate == RATE
    assert result.audio.num_samples == audio.num_samples + int(0.5 * RATE)


def test_no_splices_returns_the_audio_unchanged() -> None:
    audio = noise(1.0)
    result = apply_splices(audio, [], XF)
    assert np.array_equal(result.audio.samples, audio.samples) and result.seams == ()


def test_equal_power_crossfade_keeps_the_level_of_unrelated_sounds() -> None:
    """Two independent noises of the same level: an equal-power fade keeps the level through the seam
    (a linear fade would dip 3 dB in the middle)."""
    a, b = noise(1.0, seed=10), noise(1.0, seed=11)
    audio = Audio(np.concatenate([a.samples, b.samples]), RATE)
    levels = []
    for seed in range(30):
        other = noise(1.0, seed=100 + seed)
        result = apply_splices(audio, [Splice(0.5, 1.5, other)], crossfade_s=0.05)
        at = int(0.5 * RATE)
        levels.append(np.mean(result.audio.samples[at: at + int(0.05 * RATE)].astype(np.float64) ** 2))
    assert 10 * np.log10(np.mean(levels) / 0.01) == pytest.approx(0.0, abs=0.5)


# ------------------------------------------------------------------------------------------- helpers


def test_trim_is_sample_exact_and_checks_its_range() -> None:
    audio = noise(1.0)
    part = trim(audio, 0.25, 0.5)
    assert np.array_equal(part.samples, audio.samples[4000:8000])
    with pytest.raises(EditError):
        trim(audio, 0.6, 0.5)
    with pytest.raises(EditError):
        trim(audio, 0.5, 1.5)


def test_fade_in_and_out() -> None:
    audio = Audio(np.ones(RATE, dtype=np.float32), RATE)
    faded = fade(audio, 0.1, 0.2)
    s = faded.samples
    assert s[0] < 1e-3 and s[-1] < 1e-3
    assert np.all(np.diff(s[:1600]) > 0) and np.all(np.diff(s[-3200:]) < 0)
    assert np.array_equal(s[1600:-3200], audio.samples[1600:-3200])
    short = fade(Audio(np.ones(100, dtype=np.float32), RATE), 0.1, 0.1)  # longer than the clip: fitted
    assert short.num_samples == 100 and short.samples.max() <= 1.0 and short.samples[0] < 0.01
    with pytest.raises(EditError):
        fade(audio, -0.1)


def test_insert_silence() -> None:
    audio = noise(1.0)
    result = insert_silence(audio, 0.5, 0.3, XF)
    assert result.audio.num_samples == audio.num_samples + int(0.3 * RATE)
    n = int(XF * RATE)
    gap = result.audio.samples[int(0.5 * RATE) + n: int(0.8 * RATE) - n]
    assert gap.size > 0 and not gap.any()
    assert kept_identical(audio, result, []) == audio.num_samples
    with pytest.raises(EditError):
        insert_silence(audio, 0.5, -1.0)


def test_join_takes_with_gaps_and_rates() -> None:
    first, second, third = noise(0.5, seed=1), noise(0.4, seed=2, rate=22050), noise(0.3, seed=3)
    result = join_takes([first, second, third], gap_s=0.2, crossfade_s=XF)
    assert result.audio.sample_rate == RATE
    assert result.audio.num_samples == int(0.5 * RATE) + int(0.4 * RATE) + int(0.3 * RATE) + 2 * int(0.2 * RATE)
    assert result.spans == (pytest.approx((0.0, 0.5)), pytest.approx((0.7, 1.1)), pytest.approx((1.3, 1.6)))
    assert result.seams == pytest.approx((0.5, 0.7, 1.1, 1.3))
    gap = result.audio.samples[int(0.5 * RATE): int(0.7 * RATE)]
    assert not gap.any()
    n = int(XF * RATE)
    assert np.array_equal(result.audio.samples[: int(0.5 * RATE) - n], first.samples[:-n])
    joined = join_takes([first, third], gap_s=0.0, crossfade_s=XF)
    assert joined.audio.num_samples == first.num_samples + third.num_samples
    with pytest.raises(EditError):
        join_takes([])


# --------------------------------------------------------------------------------------------- seams


def test_low_energy_point_finds_a_planted_dip() -> None:
    audio = voiced(1.0)
    samples = audio.samples.copy()
    dip = int(0.6137 * RATE)
    samples[dip - 40: dip + 40] *= 0.01
    found = low_energy_point(Audio(samples, RATE), 0.3, 0.9)
    assert found == pytest.approx(0.6137, abs=0.002)
    # outside the searched range it is not found
    assert not 0.6 < low_energy_point(Audio(samples, RATE), 0.1, 0.5) < 0.62


def test_low_energy_point_picks_the_middle_of_silence_and_handles_tiny_ranges() -> None:
    samples = voiced(1.0).samples.copy()
    samples[int(0.4 * RATE): int(0.6 * RATE)] = 0.0
    assert low_energy_point(Audio(samples, RATE), 0.2, 0.8) == pytest.approx(0.5, abs=0.01)
    assert low_energy_point(Audio(samples, RATE), 0.3, 0.3001) == pytest.approx(0.30005, abs=1e-4)
    with pytest.raises(EditError):
        low_energy_point(Audio(samples, RATE), 0.5, 0.4)


def test_seam_click_ratio_flags_a_step_and_passes_a_crossfade() -> None:
    left, right = voiced(1.0, f0=120, seed=1), voiced(1.0, f0=150, seed=2)
    hard = Audio(np.concatenate([left.samples, right.samples + 0.3]), RATE)  # a planted step of 0.3
    assert seam_click_ratio(hard, 1.0) > 5.0
    both = Audio(np.concatenate([left.samples, right.samples]), RATE)
    crossfaded = apply_splices(both, [Splice(0.8, 1.2)], XF)  # a cut through steady voicing
    (at,) = crossfaded.seams
    assert seam_click_ratio(crossfaded.audio, at) <= 1.0
    # the same cut without a crossfade clicks
    hard_cut = apply_splices(both, [Splice(0.8, 1.2)], 0.0)
    assert seam_click_ratio(hard_cut.audio, at) > 2.0


def test_seam_click_ratio_in_silence_is_zero() -> None:
    assert seam_click_ratio(Audio(np.zeros(RATE, dtype=np.float32), RATE), 0.5) == 0.0
    with pytest.raises(EditError):
        seam_click_ratio(noise(1.0), 2.0)


def test_noise_floor_db() -> None:
    samples = np.concatenate([voiced(1.0).samples, noise(1.0, level=0.001).samples])
    audio = Audio(samples, RATE)
    assert noise_floor_db(audio, 1.0, 2.0) == pytest.approx(-60.0, abs=1.0)
    # over speech + pause, the 10th percentile is the pause
    assert noise_floor_db(audio, 0.0, 2.0) == pytest.approx(-60.0, abs=1.5)
    assert noise_floor_db(Audio(np.zeros(RATE, dtype=np.float32), RATE), 0.0, 1.0) == FLOOR_DBFS


def test_content_handles_keep_removed_audio_out_of_the_fades() -> None:
    """With handles, the fade lies in the kept audio next to each seam and reads the content's handle,
    so nothing of what the splice removed is heard; the handles themselves are not placed."""
    rate = RATE
    audio = Audio(np.full(rate, 0.5, dtype=np.float32), rate)
    audio.samples[int(0.4 * rate): int(0.6 * rate)] = -0.9  # the part being replaced: must not leak
    n = int(XF * rate)
    core = np.full(int(0.2 * rate), 0.1, dtype=np.float32)
    content = Audio(np.concatenate([np.full(n, 0.1, np.float32), core, np.full(n, 0.1, np.float32)]), rate)
    result = apply_splices(audio, [Splice(0.4, 0.6, content, handle_s=XF)], XF)
    out = result.audio.samples
    assert result.audio.num_samples == audio.num_samples  # 0.2 s replaced by 0.2 s of core
    assert result.spans == (pytest.approx((0.4, 0.6)),)
    assert out.min() > -0.01  # no trace of the replaced -0.9
    a, b = int(0.4 * rate), int(0.6 * rate)
    assert np.array_equal(out[a:b], core)  # the core as is: its fades happened in the kept audio
    assert np.array_equal(out[: a - n], audio.samples[: a - n]) and np.array_equal(out[b + n:], audio.samples[b + n:])
    assert 0.1 < out[a - n // 2] < 0.5 and 0.1 < out[b + n // 2] < 0.5  # faded there
    with pytest.raises(EditError, match="handles"):
        apply_splices(audio, [Splice(0.4, 0.6, Audio(np.zeros(100, np.float32), rate), handle_s=0.01)], XF)


def test_low_energy_point_prefers_the_given_range_unless_a_dip_is_clearly_deeper() -> None:
    samples = voiced(1.0).samples.copy()
    samples[int(0.30 * RATE): int(0.31 * RATE)] *= 0.3  # a shallow dip (-10 dB) inside the preferred range
    samples[int(0.45 * RATE): int(0.46 * RATE)] *= 0.25  # slightly deeper, 150 ms away: not worth it
    samples[int(0.70 * RATE): int(0.71 * RATE)] *= 0.001  # -60 dB, 400 ms away: worth it
    audio = Audio(samples, RATE)
    assert low_energy_point(audio, 0.2, 0.6, prefer=(0.29, 0.32)) == pytest.approx(0.305, abs=0.003)
    assert low_energy_point(audio, 0.2, 0.8, prefer=(0.29, 0.32)) == pytest.approx(0.705, abs=0.003)
