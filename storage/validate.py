"""Input checks shared by the Store and the archive importer, so a bad value is refused with a
readable ValueError before anything is written (instead of a database error mid-transaction)."""
from __future__ import annotations

import json
import math
import numbers
import operator
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from .models import NAME_MAX, SCRIPT_FORMATS
from .records import Consent, NewClip, NewSegment, NewTake, NewTranscript

SEED_MIN, SEED_MAX = -(2**63), 2**63 - 1  # BIGINT range on every backend


def clean_name(value: object, what: str = "name", max_len: int = NAME_MAX) -> str:
    """Strip and require a non-blank string of sane length."""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text")
    name = value.strip()
    if not name:
        raise ValueError(f"{what} must not be blank")
    if len(name) > max_len:
        raise ValueError(f"{what} is longer than {max_len} characters")
    return name


def optional_text(value: object, what: str, max_len: int | None = None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text or None")
    if max_len is not None and len(value) > max_len:
        raise ValueError(f"{what} is longer than {max_len} characters")
    return value


def aware(value: object, what: str) -> datetime:
    """Timestamps must carry a zone: a naive local time would silently shift when read as UTC."""
    if not isinstance(value, datetime):
        raise ValueError(f"{what} must be a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")
    return value.astimezone(UTC)  # records always carry UTC, as reads return it


def _integer(value: object, what: str) -> int:
    """Python or numpy integers (not bools, not floats that happen to be whole)."""
    if isinstance(value, bool):
        raise ValueError(f"{what} must be an integer")
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise ValueError(f"{what} must be an integer") from None


def positive_int(value: object, what: str) -> int:
    number = _integer(value, what)
    if number <= 0:
        raise ValueError(f"{what} must be a positive integer")
    return number


def duration(value: object) -> float:
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError("duration must be a number of seconds") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError("duration must be a finite, non-negative number of seconds")
    return seconds


def seed(value: object) -> int | None:
    if value is None:
        return None
    number = _integer(value, "seed")
    if not SEED_MIN <= number <= SEED_MAX:
        raise ValueError("seed must fit in 64 bits")
    return number


def audio_bytes(value: object) -> bytes:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise ValueError("audio must be the encoded file as bytes")
    data = bytes(value)
    if not data:
        raise ValueError("audio is empty")
    return data


def _plain(value: Any) -> Any:
    """JSON fallback for numpy scalars/arrays that pipelines tend to put in parameters/scores."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON-serializable")


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def json_dict(value: object, what: str) -> dict[str, Any]:
    """A JSON-safe copy of `value`: numpy values become plain numbers, keys become strings and
    NaN/inf become None (PostgreSQL's JSON rejects them). What the caller gets back in the record
    is exactly what a later read returns."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be a dict")
    try:
        text = json.dumps(value, default=_plain)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be JSON-serializable: {exc}") from None
    result: dict[str, Any] = _finite(json.loads(text))
    return result


def _real(value: object, what: str) -> float:
    """A finite Python or numpy number (not a bool, not numeric text)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{what} must be a number")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{what} must be finite")
    return number


def _word_fields(item: object, index: int) -> tuple[object, object, object, object]:
    if isinstance(item, Sequence) and not isinstance(item, (str, bytes)):
        if len(item) != 4:
            raise ValueError(f"word {index} must be (text, start, end, confidence)")
        return item[0], item[1], item[2], item[3]
    try:  # a Word-like object; storage must not import pipelines to check its type
        return item.text, item.start, item.end, item.confidence  # type: ignore[attr-defined]
    except AttributeError:
        raise ValueError(f"word {index} must be (text, start, end, confidence)") from None


def transcript_words(value: object) -> tuple[tuple[str, float, float, float], ...]:
    """Word timings an editor can cut at: text, then 0 <= start <= end (seconds), confidence in
    [0, 1], all finite, in order of start. Bad timings would make a later edit cut in the wrong
    place, so they are refused here rather than discovered there."""
    if not isinstance(value, Sequence) or isinstance(value, (str, bytes)):
        raise ValueError("transcript words must be a list of (text, start, end, confidence)")
    words: list[tuple[str, float, float, float]] = []
    previous_start = 0.0
    for index, item in enumerate(value):
        raw_text, raw_start, raw_end, raw_confidence = _word_fields(item, index)
        if not isinstance(raw_text, str) or not raw_text.strip():
            raise ValueError(f"word {index} text must be non-blank text")
        what = f"word {index} ({raw_text!r})"
        start = _real(raw_start, f"{what} start")
        end = _real(raw_end, f"{what} end")
        confidence = _real(raw_confidence, f"{what} confidence")
        if start < 0:
            raise ValueError(f"{what} starts before 0 s")
        if end < start:
            raise ValueError(f"{what} ends ({end:g} s) before it starts ({start:g} s)")
        if not 0.0 <= confidence <= 1.0:
            raise ValueError(f"{what} confidence must be from 0 to 1")
        if start < previous_start:
            raise ValueError(f"{what} starts before the word ahead of it; words must be in order of start")
        words.append((raw_text, start, end, confidence))
        previous_start = start
    return tuple(words)


def transcript_text(value: object) -> str:
    """May be empty (nothing was said), but must be text."""
    if not isinstance(value, str):
        raise ValueError("transcript text must be text")
    return value


def vector(value: Any) -> np.ndarray:
    """An embedding as little-endian float32: non-empty, 1-D, numeric and finite."""
    values = np.asarray(value)
    if values.ndim != 1 or values.size == 0:
        raise ValueError("an embedding must be a non-empty 1-D vector")
    if not np.issubdtype(values.dtype, np.number):
        raise ValueError("an embedding must be numeric")
    values = values.astype("<f4")
    if not np.all(np.isfinite(values)):
        raise ValueError("an embedding must not contain NaN or infinity")
    return values


def consent(value: Consent) -> Consent:
    if not isinstance(value, Consent):
        raise ValueError("consent must be a storage.Consent")
    return Consent(
        statement=clean_name(value.statement, "consent statement", max_len=100_000),
        confirmed_by=clean_name(value.confirmed_by, "consent confirmed_by"),
        confirmed_at=aware(value.confirmed_at, "consent confirmed_at"),
    )


def clip(value: NewClip) -> NewClip:
    return NewClip(
        audio=audio_bytes(value.audio),
        sample_rate=positive_int(value.sample_rate, "sample_rate"),
        duration=duration(value.duration),
        transcript=optional_text(value.transcript, "transcript"),
        source_name=optional_text(value.source_name, "source_name", 255),
    )


def transcript(value: NewTranscript) -> NewTranscript:
    """Every field checked (ValueError otherwise), words as plain (str, float, float, float)."""
    if not isinstance(value, NewTranscript):
        raise ValueError("transcript must be a storage.NewTranscript")
    return NewTranscript(
        text=transcript_text(value.text),
        words=transcript_words(value.words),
        engine_id=optional_text(value.engine_id, "engine_id", 100),
        language=optional_text(value.language, "language", 32),
    )


def take(value: NewTake) -> NewTake:
    """A take to keep, every field checked and normalised (JSON-safe parameters and scores)."""
    return NewTake(
        kind=clean_name(value.kind, "take kind", max_len=32),
        audio=audio_bytes(value.audio),
        sample_rate=positive_int(value.sample_rate, "sample_rate"),
        duration=duration(value.duration),
        text=optional_text(value.text, "text"),
        voice_id=value.voice_id,
        engine_id=optional_text(value.engine_id, "engine_id", 100),
        engine_revision=optional_text(value.engine_revision, "engine_revision", 100),
        parameters=json_dict(value.parameters, "parameters"),
        seed=seed(value.seed),
        parent_id=value.parent_id,
        scores=json_dict(value.scores, "scores"),
    )


# ---------------------------------------------------------------- scripts

MAX_SEGMENTS = 2000  # per script
SEGMENT_TEXT_MAX = 5000
SECTION_MAX = 300
SPEAKER_MAX = 100
PAUSE_MAX_S = 60.0
CONTENT_HASH_MAX = 128
WORD_MAX = 100
RESPELLING_MAX = 200


def source_format(value: object) -> str:
    if value not in SCRIPT_FORMATS:
        raise ValueError(f"source format must be one of {', '.join(SCRIPT_FORMATS)}, not {value!r}")
    return str(value)


def segment_text(value: object) -> str:
    """A line to speak: stripped (edges are not spoken), non-blank, at most SEGMENT_TEXT_MAX characters."""
    if not isinstance(value, str):
        raise ValueError("segment text must be text")
    text = value.strip()
    if not text:
        raise ValueError("segment text must not be blank")
    if len(text) > SEGMENT_TEXT_MAX:
        raise ValueError(f"segment text is {len(text)} characters long; a segment holds at most "
                         f"{SEGMENT_TEXT_MAX} (split it)")
    return text


def optional_label(value: object, what: str, max_len: int) -> str | None:
    """A section or speaker: stripped; blank means none."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text or None")
    label = value.strip()
    if len(label) > max_len:
        raise ValueError(f"{what} is longer than {max_len} characters")
    return label or None


def pause(value: object) -> float:
    seconds = _real(value, "pause after the segment")
    if not 0.0 <= seconds <= PAUSE_MAX_S:
        raise ValueError(f"pause after the segment must be from 0 to {PAUSE_MAX_S:g} seconds")
    return seconds


def optional_id(value: object, what: str) -> int | None:
    return None if value is None else positive_int(value, what)


def segment(value: NewSegment) -> NewSegment:
    """A new line, every field checked and normalised."""
    if not isinstance(value, NewSegment):
        raise ValueError("a segment must be a storage.NewSegment")
    return NewSegment(
        text=segment_text(value.text),
        section=optional_label(value.section, "section", SECTION_MAX),
        speaker=optional_label(value.speaker, "speaker", SPEAKER_MAX),
        voice_id=optional_id(value.voice_id, "voice id"),
        engine_id=optional_label(value.engine_id, "engine_id", 100),
        pause_after_s=pause(value.pause_after_s),
    )


def content_hash(value: object) -> str:
    return clean_name(value, "content hash", max_len=CONTENT_HASH_MAX)
