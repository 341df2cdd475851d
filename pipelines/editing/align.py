"""A second alignment for a deletion's cuts: the transcript spoken by an embedded voice, matched to the recording.

Whisper's word timings are often 50-100 ms off in fluent speech, and the quiet dips near them are not always
word boundaries. Classic forced aligners take another route: speak the words with a synthesiser that knows
where each word lies in its own speech, then warp that speech onto the recording by dynamic time warping
(DTW) of their spectra; the synthetic boundaries, carried over the warping path, land on the recording's.
The check (check.py) tries these cuts when the planned ones are not heard cleanly.

The voice comes in as `SpeakMarked` (phrases -> their speech and where each phrase after the first begins,
e.g. PiperSpeak.speak_marked), so this module needs no model.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np

from ..audio import Audio, resample
from .splice import trim

__all__ = ["SpeakMarked", "SpokenAligner", "aligned_cuts", "warp_times"]

log = logging.getLogger("retake.editing")

SpeakMarked = Callable[[Sequence[str]], tuple[Audio, list[float]]]

_RATE = 16_000
_HOP = 160  # 10 ms frames
_FFT = 512
_MFCC = 21  # the energy term and 20 of spectral shape


def _features(audio: Audio) -> np.ndarray:
    """Per-frame MFCCs, each coefficient normalised over the piece: the spectral shape of the sounds and
    where the speech is louder or quieter, not the voice's or the room's own level or colour."""
    import librosa

    samples = resample(audio, _RATE).samples.astype(np.float32)
    mfcc = librosa.feature.mfcc(y=samples, sr=_RATE, n_mfcc=_MFCC, n_fft=_FFT, hop_length=_HOP, n_mels=40)
    mfcc = mfcc - mfcc.mean(axis=1, keepdims=True)
    return mfcc / (mfcc.std(axis=1, keepdims=True) + 1e-6)


def warp_times(recording: Audio, spoken: Audio, times: Sequence[float]) -> list[float]:
    """Boundaries at `times` in `spoken` carried onto `recording` along the DTW path between their spectra
    (both pieces say the same words from start to end). A boundary lies between two frames of `spoken`; in
    the recording it lies between the last frame matched to the one before and the first matched to the one
    after."""
    import librosa

    ours, theirs = _features(recording), _features(spoken)
    if ours.shape[1] < 2 or theirs.shape[1] < 2:
        raise ValueError("both pieces need at least two frames of audio to be aligned.")
    _, path = librosa.sequence.dtw(X=theirs, Y=ours, metric="euclidean")
    warped = []
    for t in times:
        after = min(theirs.shape[1] - 1, max(1, int(round(t * _RATE / _HOP))))
        last = path[path[:, 0] == after - 1, 1].max()
        first = path[path[:, 0] == after, 1].min()
        warped.append(float(np.clip((last + first) / 2 * _HOP / _RATE, 0.0, recording.duration)))
    return warped


class SpokenAligner:
    """Where phrases of a transcript begin in a recording of them, found through a voice that speaks them."""

    def __init__(self, speak: SpeakMarked) -> None:
        self.speak = speak

    def __call__(self, recording: Audio, phrases: Sequence[str]) -> list[float]:
        """The time each phrase after the first begins in `recording` (which says all of them, in order)."""
        spoken, times = self.speak(list(phrases))
        return warp_times(recording, spoken, times)


def aligned_cuts(align: SpokenAligner, audio: Audio, window: tuple[float, float], planned: tuple[float, float],
                 left: Sequence[str], removed: Sequence[str], right: Sequence[str]) -> tuple[float, float] | None:
    """Cuts for deleting `removed` from the second alignment of the recording's `window`: where the removed
    words begin, and where the words after them begin (the pause before the removed words stays). At the
    recording's edges the planned cut stays on the side with no words. None when the aligner fails: it is a
    second opinion, and the check goes on without it."""
    phrases = [" ".join(part) for part in (left, removed, right) if part]
    try:
        begins = [window[0] + t for t in align(trim(audio, *window), phrases)]
    except Exception as exc:  # noqa: BLE001 - whatever the voice or the warping raise
        log.warning("second alignment failed, the check goes on without it: %s", exc)
        return None
    start = begins.pop(0) if left else planned[0]
    end = begins.pop(0) if right else planned[1]
    return start, end
