"""Enhancement that does no harm (pipelines/enhance/gate.py) with the real DeepFilterNet3 and Whisper base:
clean input is left as it is, near-clean input loses no intelligibility, real noisy recordings get closer
to their clean originals. Prints the figures."""
from __future__ import annotations

import jiwer
import numpy as np
import pytest
from pystoi import stoi

from pipelines.audio import Audio, resample
from pipelines.enhance.deepfilternet import DeepFilterNet3Enhance
from pipelines.enhance.gate import attenuation_limit_db, estimate_snr_db, limit_attenuation
from pipelines.transcribe.faster_whisper import FasterWhisperTranscribe
from tests.noisy import VCTK, clip, normalise_text, si_sdr, transcript

pytestmark = pytest.mark.slow
CLEAN = ("coqui_lj_LJ001-0016", "coqui_lj_LJ001-0029", "deb_asterisk_en_vm-opts")  # studio-clean, SNR > 35 dB


def gated(dfn: DeepFilterNet3Enhance, audio: Audio) -> tuple[Audio, float, float]:
    snr = estimate_snr_db(audio)
    limit = attenuation_limit_db(snr)
    return (limit_attenuation(audio, dfn(audio), limit) if limit > 0 else audio), snr, limit


def stoi16(reference: Audio, degraded: Audio) -> float:
    a, b = resample(reference, 16000).samples, resample(degraded, 16000).samples
    n = min(a.size, b.size)
    return float(stoi(a[:n], b[:n], 16000))


def wer(asr: FasterWhisperTranscribe, clip_id: str, audio: Audio) -> float:
    return float(jiwer.wer(normalise_text(transcript(clip_id)), normalise_text(asr(audio, language="en").text)))


@pytest.mark.parametrize("clip_id", CLEAN)
def test_clean_input_is_left_as_it_is(dfn, clip_id: str) -> None:
    audio = clip(clip_id)
    out, snr, limit = gated(dfn, audio)
    print(f"\n  {clip_id}: estimated SNR {snr:.1f} dB, limit {limit:.0f} dB")
    assert limit == 0 and out is audio


@pytest.mark.parametrize("pair", VCTK)
def test_near_clean_input_keeps_its_intelligibility(dfn, asr, pair: str) -> None:
    clean_id = f"denoiser_clean_{pair}"
    audio = clip(clean_id)
    out, snr, limit = gated(dfn, audio)
    before, after = wer(asr, clean_id, audio), wer(asr, clean_id, out)
    print(f"\n  {clean_id}: SNR {snr:.1f} dB, limit {limit:.0f} dB; STOI {stoi16(audio, out):.3f}; "
          f"WER {before:.3f} -> {after:.3f}; SI-SDR vs input {si_sdr(out.samples, audio.samples):.1f} dB")
    assert stoi16(audio, out) >= 0.99  # STOI against itself is 1.0: at most a hair lower
    assert after <= before + 1e-9


@pytest.mark.parametrize("pair", VCTK)
def test_real_noisy_recordings_come_closer_to_their_clean_originals(dfn, pair: str) -> None:
    clean, noisy = clip(f"denoiser_clean_{pair}"), clip(f"denoiser_noisy_{pair}")
    out, snr, limit = gated(dfn, noisy)
    before, after = si_sdr(noisy.samples, clean.samples), si_sdr(out.samples, clean.samples)
    full = si_sdr(dfn(noisy).samples, clean.samples)
    print(f"\n  {pair}: SNR {snr:.1f} dB, limit {limit:.0f} dB; SI-SDR {before:.1f} -> {after:.1f} dB "
          f"(unlimited {full:.1f}); STOI {stoi16(clean, noisy):.3f} -> {stoi16(clean, out):.3f}")
    assert limit > 0 and after > before + 1.0
    assert stoi16(clean, out) >= stoi16(clean, noisy) - 0.01


def test_the_limit_bounds_what_is_taken_away() -> None:
    rng = np.random.default_rng(3)
    noise = Audio((0.01 * rng.standard_normal(16000)).astype(np.float32), 16000)
    silence = Audio(np.zeros(16000, np.float32), 16000)
    out = limit_attenuation(noise, silence, 12.0)  # a denoiser that removed everything
    assert 20 * np.log10(np.std(out.samples) / np.std(noise.samples)) == pytest.approx(-12.0, abs=0.01)
    assert limit_attenuation(noise, silence, 0.0) is noise
    with pytest.raises(ValueError, match="rate and length"):
        limit_attenuation(noise, Audio(np.zeros(8000, np.float32), 16000), 6.0)
    assert estimate_snr_db(silence) == 0.0
    assert attenuation_limit_db(40) == 0 and attenuation_limit_db(30) == 6 and attenuation_limit_db(5) == 12
