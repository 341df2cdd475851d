"""Word timings safe to edit with: clamp Whisper's alignment and move word edges off silence.

Shared by every Whisper engine (embedded and Hub), which differ in how they decode, not in how their word
timings need repairing.
"""
from __future__ import annotations

import bisect
from typing import Iterable

import numpy as np

from ..base import Word


def tidy_words(words: Iterable[Word], duration: float) -> tuple[Word, ...]:
    """Make word timings safe to edit with: inside [0, duration], start <= end, in order, not overlapping.

    Whisper's alignment (DTW over cross-attention) occasionally puts a word a few ms before the end of
    the previous one or past the end of the clip; an editor cutting at those times would cut into
    the neighbouring word or outside the audio, so they are clamped rather than trusted.
    Empty words (a lone space token) are dropped.
    """
    tidy: list[Word] = []
    previous_end = 0.0
    for word in words:
        text = word.text.strip()
        if not text:
            continue
        start = min(max(float(word.start), previous_end, 0.0), duration)
        end = min(max(float(word.end), start), duration)
        confidence = min(max(float(word.confidence), 0.0), 1.0)
        tidy.append(Word(text=text, start=start, end=end, confidence=confidence))
        previous_end = end
    return tuple(tidy)


def snap_to_speech(words: Iterable[Word], regions: list[tuple[float, float]]) -> list[Word]:
    """Move word edges that Whisper placed in silence onto the nearest speech edge inside the word.

    Whisper's alignment starts the first word at the segment's start timestamp, usually 0.00, even
    after half a second of silence; an edit that cuts "before the first word" would then keep the
    silence. With speech regions from a VAD, a start that lies in silence moves forward to the next
    speech onset (if that onset is still inside the word), and an end in silence moves back to the
    last speech offset. Words the VAD missed entirely are left as they are.
    """
    if not regions:
        return list(words)
    starts = [a for a, _ in regions]
    ends = [b for _, b in regions]
    snapped = []
    for word in words:
        start, end = word.start, word.end
        i = bisect.bisect_right(starts, start) - 1  # last region starting at or before `start`
        if i < 0 or start > ends[i]:  # in silence
            nxt = i + 1
            if nxt < len(starts) and starts[nxt] < end:
                start = starts[nxt]
        j = bisect.bisect_right(starts, end) - 1  # last region starting at or before `end`
        if j >= 0 and end > ends[j] and ends[j] > start:  # end in silence after region j
            end = ends[j]
        snapped.append(Word(word.text, start, end, word.confidence))
    return snapped


def speech_regions(samples: np.ndarray, sample_rate: int = 16000) -> list[tuple[float, float]] | None:
    """Speech spans in seconds by the Silero VAD that faster-whisper bundles, tuned for word edges:
    pauses of 100 ms count and padding is small (50 ms) so onsets stay close. None when
    faster-whisper is not installed (then callers skip snapping rather than fail)."""
    try:
        from faster_whisper.vad import VadOptions, get_speech_timestamps
    except ImportError:
        return None
    options = VadOptions(threshold=0.5, min_silence_duration_ms=100, speech_pad_ms=50)
    chunks = get_speech_timestamps(np.asarray(samples, dtype=np.float32), options, sampling_rate=sample_rate)
    return [(c["start"] / sample_rate, c["end"] / sample_rate) for c in chunks]
