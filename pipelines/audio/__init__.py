"""One audio value type and the operations every Retake pipeline needs on it.

Everything inside Retake is mono float32 at a known sample rate (`Audio`): engines, scorers and storage
all agree on that, so format quirks are dealt with once, at the edges (`load` on the way in, `encode` on the
way out). Errors a user can fix are raised as `AudioError` with a message that can be
shown as is.

value: the Audio type, peaks, silence. files: load and encode. ops: resample, trim, join. levels: frame
levels, noise floor, loudness and loudness matching. meter: BS.1770 loudness and true peak. limiter: the
look-ahead true-peak limiter. blocks: block-by-block processing of long clips.
"""
from .files import (
    DEFAULT_MAX_SECONDS,
    FFMPEG_TIMEOUT_S,
    SUPPORTED_INPUT,
    SUPPORTED_OUTPUT,
    AudioSource,
    encode,
    load,
)
from .levels import frame_levels_db, loudness, match_loudness, noise_floor_db, normalize_loudness
from .limiter import limit_true_peak
from .meter import true_peak_dbfs
from .ops import join, resample, trim_silence
from .value import SILENCE_DBFS, Audio, AudioError, is_silent, peak_dbfs, silence

__all__ = [
    "AudioError",
    "Audio",
    "AudioSource",
    "DEFAULT_MAX_SECONDS",
    "FFMPEG_TIMEOUT_S",
    "SILENCE_DBFS",
    "SUPPORTED_INPUT",
    "SUPPORTED_OUTPUT",
    "load",
    "resample",
    "loudness",
    "normalize_loudness",
    "match_loudness",
    "frame_levels_db",
    "noise_floor_db",
    "true_peak_dbfs",
    "limit_true_peak",
    "trim_silence",
    "join",
    "encode",
    "peak_dbfs",
    "is_silent",
    "silence",
]
