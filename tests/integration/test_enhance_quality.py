"""The enhance issue's quality bar, measured on real noisy speech, and its bad-input list through the whole
clean-up chain (DeepFilterNet3 -> mastering).

Data: the VCTK/DEMAND recorded clean/noisy pairs, and clean speech mixed with each shared noise at 0, 5
and 10 dB SNR (tests/noisy.py). Measured when these tests were written (2-core CPU, DeepFilterNet3 with
its defaults, Whisper base int8 with beam 5 and language "en"):

    45 mixtures        SI-SDR 4.87 -> 13.88 dB (gain +9.0)   STOI 0.892 -> 0.935
                       (0 dB 0.844 -> 0.905, 5 dB 0.897 -> 0.941, 10 dB 0.936 -> 0.960)
    3 recorded pairs   STOI 0.816 -> 0.837 (0.862 -> 0.903, 0.675 -> 0.677, 0.910 -> 0.933)
    WER, 43 cases      0.164 -> 0.129: 40 mixtures 0.150 -> 0.110 (0 dB 0.215 -> 0.174, 5 dB 0.086 -> 0.047),
                       3 recorded pairs 0.339 -> 0.383 (p287_004, real babble: 0.867 -> 1.000, both unusable)

The denoised VCTK pairs mastered to each target meet it, except the ACX noise floor on p287_004, where
DeepFilterNet3 leaves babble in the first 0.6 s at about -30 dB: mastering then reports the miss instead
of gating speech-like sound away.
"""
from __future__ import annotations

import gc
import tracemalloc

import jiwer
import numpy as np
import pytest
import soundfile as sf
from pystoi import stoi

from pipelines.audio import Audio, AudioError, load, loudness, resample
from pipelines.enhance.deepfilternet import DeepFilterNet3Enhance
from pipelines.mastering import TARGETS, MasteringResult, master, measure
from pipelines.transcribe.faster_whisper import FasterWhisperTranscribe
from tests.noisy import SNRS, VCTK, clip, mix, noise, noise_names, normalise_text, si_sdr, transcript

STOI_RATE = 16000
MIN_MEAN_SI_SDR_GAIN_DB = 5.0
STOI_SLACK = 0.01
WER_SLACK = 0.02
# WER: clips with exact transcripts and no numbers (which Whisper may write as digits), three corpora.
# Each meets every noise once, at 0 dB or 5 dB in a checkerboard, so every clip and every noise is heard
# at both SNRs: 40 mixtures plus the 3 recorded VCTK noisy clips. Fewer is too few: one misheard word
# moves a clip's WER by 0.07-0.1, so the mean of a handful of clips swings by more than the 0.02 slack
# (11 cases once measured 0.156 -> 0.185 where the 83-case full grid gives 0.150 -> 0.138).
WER_CLIPS = ("denoiser_clean_p287_002", "denoiser_clean_p287_004", "denoiser_clean_p287_006",
             "coqui_lj_LJ001-0006", "coqui_lj_LJ001-0016", "coqui_lj_LJ001-0029",
             "pocketsphinx_sense_and_sensibility_01_austen_64kb-0890",
             "pocketsphinx_sense_and_sensibility_01_austen_64kb-0930")
WER_SNRS = (0, 5)


# ------------------------------------------------------------------------------ helpers (dfn, asr: conftest.py)


def stoi16(reference: Audio, degraded: Audio) -> float:
    """Classic STOI (not extended) at 16 kHz; pystoi resamples to its 10 kHz internally."""
    return float(stoi(resample(reference, STOI_RATE).samples, resample(degraded, STOI_RATE).samples,
                      STOI_RATE, extended=False))


@pytest.fixture(scope="module")
def mixture_scores(dfn: DeepFilterNet3Enhance) -> list[tuple[str, int, str, float, float, float, float]]:
    """(noise, snr, utterance, SI-SDR in, out, STOI in, out) for every VCTK clean clip x noise x SNR."""
    rows = []
    for name in noise_names():
        for snr in SNRS:
            for utt in VCTK:
                clean = clip(f"denoiser_clean_{utt}")
                noisy = mix(clean, noise(name), snr)
                out = dfn(noisy)
                rows.append((name, snr, utt, si_sdr(noisy.samples, clean.samples), si_sdr(out.samples, clean.samples),
                             stoi16(clean, noisy), stoi16(clean, out)))
    return rows


def table(rows: list[tuple]) -> str:
    return "\n".join(f"{n:38s} {s:3d} dB {u}  SI-SDR {a:6.2f} -> {b:6.2f}  STOI {c:.3f} -> {d:.3f}"
                     for n, s, u, a, b, c, d in rows)


# ------------------------------------------------------------------------------------------ quality


@pytest.mark.slow
def test_si_sdr_and_stoi_on_mixtures(mixture_scores: list[tuple]) -> None:
    """Cleaner (SI-SDR up by >= 5 dB on average) without becoming less intelligible (STOI)."""
    si_in, si_out, stoi_in, stoi_out = (np.array([row[k] for row in mixture_scores]) for k in range(3, 7))
    report = (f"SI-SDR {si_in.mean():.2f} -> {si_out.mean():.2f} dB, STOI {stoi_in.mean():.3f} -> "
              f"{stoi_out.mean():.3f}\n{table(mixture_scores)}")
    print(report)
    assert np.isfinite(si_out).all() and np.isfinite(stoi_out).all(), report
    assert (si_out - si_in).mean() >= MIN_MEAN_SI_SDR_GAIN_DB, report
    assert stoi_out.mean() >= stoi_in.mean() - STOI_SLACK, report
    for snr in SNRS:  # and at every SNR, not only on average
        level = [row for row in mixture_scores if row[1] == snr]
        assert np.mean([r[6] for r in level]) >= np.mean([r[5] for r in level]) - STOI_SLACK, report


def test_stoi_on_recorded_pairs(dfn: DeepFilterNet3Enhance) -> None:
    """The VCTK pairs carry real DEMAND noise recorded with the speech: STOI must not drop there either."""
    before, after = [], []
    for utt in VCTK:
        clean, noisy = clip(f"denoiser_clean_{utt}"), clip(f"denoiser_noisy_{utt}")
        before.append(stoi16(clean, noisy))
        after.append(stoi16(clean, dfn(noisy)))
    print(f"STOI on the recorded pairs {np.mean(before):.3f} -> {np.mean(after):.3f}: {before} -> {after}")
    assert np.mean(after) >= np.mean(before) - STOI_SLACK, (before, after)


@pytest.mark.slow
def test_wer_does_not_rise(dfn: DeepFilterNet3Enhance, asr: FasterWhisperTranscribe) -> None:
    """What the embedded ASR hears in the denoised speech is no worse than in the noisy speech."""
    cases: list[tuple[str, str, Audio]] = [
        (f"vctk {utt}", f"denoiser_clean_{utt}", clip(f"denoiser_noisy_{utt}")) for utt in VCTK]
    for i, clip_id in enumerate(WER_CLIPS):
        for j, name in enumerate(noise_names()):
            snr = WER_SNRS[(i + j) % 2]
            cases.append((f"{clip_id[:32]} + {name[:24]} @ {snr} dB", clip_id, mix(clip(clip_id), noise(name), snr)))
    rows = []
    for label, clip_id, noisy in cases:
        reference = normalise_text(transcript(clip_id))
        heard = normalise_text(asr(noisy, language="en").text)
        heard_clean = normalise_text(asr(dfn(noisy), language="en").text)
        rows.append((label, jiwer.wer(reference, heard), jiwer.wer(reference, heard_clean), heard_clean))
    noisy_wer, enhanced_wer = np.mean([r[1] for r in rows]), np.mean([r[2] for r in rows])
    report = f"WER noisy {noisy_wer:.3f} -> enhanced {enhanced_wer:.3f}\n" + "\n".join(
        f"{label:70s} {a:.3f} -> {b:.3f}  {text}" for label, a, b, text in rows)
    print(report)
    assert enhanced_wer <= noisy_wer + WER_SLACK, report


def test_denoised_pairs_meet_the_targets(dfn: DeepFilterNet3Enhance) -> None:
    """The whole chain on real noisy recordings: denoise, then master to each delivery target."""
    for utt in VCTK:
        enhanced = dfn(clip(f"denoiser_noisy_{utt}"))
        for name, spec in TARGETS.items():
            result = master(enhanced, name)
            assert_sane(result)
            floor_only = all("noise floor" in p for p in result.problems)
            if name == "audiobook" and utt == "p287_004":
                # DeepFilterNet3 leaves babble at the start of this one (about -30 dB after mastering); the
                # expander must not pretend it is room tone: every other ACX number is met, the floor is
                # reported. The floor is still lowered from where the level alone would put it.
                assert floor_only and result.gate_depth_db > 0, result.problems
                continue
            assert result.met, f"{utt} {name}: {result.problems}\n{result.after.describe()}"
            if name == "audiobook":
                assert result.after.noise_floor_db <= -60.0 and result.after.sample_peak_dbfs <= -3.0


def assert_sane(result: MasteringResult) -> None:
    samples = result.audio.samples
    assert np.isfinite(samples).all() and samples.size > 0
    assert result.after.true_peak_dbfs <= result.target.true_peak_max_dbfs + 1e-6


# ---------------------------------------------------------------------------------------- bad input


def test_silence_through_the_chain(dfn: DeepFilterNet3Enhance) -> None:
    silent = Audio(np.zeros(3 * 16000, dtype=np.float32), 16000)
    denoised = dfn(silent)
    assert np.abs(denoised.samples).max() < 1e-5  # the denoiser passes silence on as silence...
    for target in TARGETS:
        with pytest.raises(AudioError, match="(?i)nothing to master: the audio is silent"):
            master(denoised, target)  # ...and mastering says so rather than amplifying nothing


@pytest.mark.parametrize("peak_dbfs", [-20.0, 0.0])
def test_pure_noise_through_the_chain(dfn: DeepFilterNet3Enhance, peak_dbfs: float) -> None:
    """Noise and no speech: the denoiser takes most of it away, nothing explodes or turns NaN, and
    mastering either calls the remainder silent or turns it up by no more than its 30 dB cap."""
    reductions = []
    for name in noise_names():
        background = noise(name)
        samples = np.resize(resample(background, 16000).samples, 5 * 16000)
        noisy = Audio(samples * np.float32(10 ** (peak_dbfs / 20) / np.abs(samples).max()), 16000)
        out = dfn(noisy)
        assert np.isfinite(out.samples).all() and np.abs(out.samples).max() <= np.abs(noisy.samples).max()
        reductions.append(rms_db(noisy) - rms_db(out))
        try:
            result = master(out, "podcast")
        except AudioError as exc:
            assert "nothing to master" in str(exc).lower()
            continue
        assert_sane(result)
        assert result.gain_db <= 30.0 + 1e-9
        if result.gain_db >= 30.0 - 1e-9:  # a residual too quiet to reach the target: said, not hidden
            assert any("level" in p for p in result.problems), result.problems
    # Measured (RMS, 5 s of each noise at 0 dBFS peak): 41, 45, 8, 38 and 54 dB less. The steady 425 Hz
    # busy tone is the one a speech denoiser keeps most of: periodic, like a held vowel.
    assert min(reductions) > 6.0 and np.mean(reductions) > 25.0, reductions


def rms_db(audio: Audio) -> float:
    return float(10 * np.log10(np.mean(audio.samples.astype(np.float64) ** 2) + 1e-20))


def test_clipped_audio_through_the_chain(dfn: DeepFilterNet3Enhance) -> None:
    clean = clip("denoiser_clean_p287_004")
    clipped = Audio(np.clip(mix(clean, noise("koala_noise"), 10).samples * 6, -1, 1), clean.sample_rate)
    assert np.mean(np.abs(clipped.samples) >= 1) > 0.03
    for target in ("podcast", "broadcast"):
        result = master(dfn(clipped), target)
        assert_sane(result)
        assert result.met, result.problems
        assert result.before.sample_peak_dbfs > result.after.sample_peak_dbfs


def test_telephone_audio_through_the_chain(dfn: DeepFilterNet3Enhance) -> None:
    speech = clip("deb_asterisk_en_vm-opts")
    assert speech.sample_rate == 8000
    noisy = mix(speech, noise("koala_noise"), 5)
    for target in TARGETS:
        result = master(dfn(noisy), target)
        assert_sane(result)
        assert result.audio.sample_rate == 8000
        assert result.met, f"{target}: {result.problems}"


@pytest.mark.parametrize("channels", [2, 6])
def test_multichannel_file_through_the_chain(dfn: DeepFilterNet3Enhance, tmp_path, channels: int) -> None:
    """A multichannel upload is downmixed by load() and then cleaned and mastered like any mono clip."""
    speech = clip("coqui_lj_LJ001-0016")
    background = noise("koala_noise")
    # The same talker in every channel (a little quieter in each), a different stretch of room noise.
    data = np.stack([mix(Audio(speech.samples * np.float32(1.0 - 0.1 * c), speech.sample_rate),
                         Audio(np.roll(background.samples, 7919 * c), background.sample_rate), 5).samples
                     for c in range(channels)], axis=1)
    path = tmp_path / f"take_{channels}ch.wav"
    sf.write(path, data, speech.sample_rate, subtype="PCM_16")
    assert sf.info(path).channels == channels
    loaded = load(path)
    assert loaded.samples.ndim == 1 and loaded.sample_rate == speech.sample_rate
    denoised = dfn(loaded)
    assert si_sdr(denoised.samples, speech.samples) > si_sdr(loaded.samples, speech.samples) + 3.0
    result = master(denoised, "podcast")
    assert_sane(result)
    assert result.met, result.problems


@pytest.mark.slow
def test_ten_minutes_of_mastering_with_flat_memory() -> None:
    """Ten minutes at 16 kHz mastered: besides the clip it returns (with the validity mask Audio makes, 1.25x
    its size), memory stays within a few MB, whatever the length: every mastering stage works block by block.
    The denoiser's own ten minutes are measured in test_enhance_engines (the chain adds nothing between them)."""
    clean = clip("denoiser_clean_p287_006")
    base = mix(clean, noise("koala_noise"), 20)
    long = Audio(np.resize(base.samples, 600 * base.sample_rate), base.sample_rate)
    clip_bytes = long.samples.nbytes
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        result = master(long, "podcast")
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    print(f"10 min mastering: traced peak {peak / 2**20:.1f} MB for a {clip_bytes / 2**20:.1f} MB clip; "
          f"{result.after.describe()}")
    assert_sane(result)
    assert result.met, result.problems
    assert result.after.duration >= 0.99 * long.duration
    assert abs(result.after.integrated_lufs - loudness(result.audio)) < 0.05  # the block-wise meter agrees
    assert peak - 1.25 * clip_bytes < 16 * 2**20, f"traced peak {peak / 2**20:.1f} MB, clip {clip_bytes / 2**20:.1f} MB"


def test_chain_reports_before_and_after(dfn: DeepFilterNet3Enhance) -> None:
    noisy = clip("denoiser_noisy_p287_002")
    denoised = dfn(noisy)
    result = master(denoised, "broadcast")
    assert result.before == measure(denoised)  # before: the chain's input to mastering, as given
    assert result.after == measure(result.audio)
    assert result.before.noise_floor_db < measure(noisy).noise_floor_db - 10  # the denoiser's work shows
    assert result.after.duration <= result.before.duration
