"""Watermarks on synthetic takes (issue #16): every take a model made (speech, fixed chunks, edits, conversions,
generated sounds) carries PerthNet's imperceptible mark before it is stored, so the file can be recognised as
synthetic wherever it goes; recordings, imports and enhancements of recordings are left as they are.
`RETAKE_WATERMARK=0` (Settings.watermark) turns marking off; checking a file works either way."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable

from pipelines import audio as au
from pipelines import watermark
from pipelines.narration import NarrationChunk, NarrationSettings, surround

from .config import Settings


def mark(settings: Settings, audio: au.Audio, parameters: dict[str, Any] | None = None) -> au.Audio:
    """`audio` marked when the studio marks synthetic takes; `parameters` (the take's) then records it."""
    if not settings.watermark:
        return audio
    if parameters is not None:
        parameters.update(note(settings))
    return watermark.shared().mark(audio)


def note(settings: Settings) -> dict[str, str]:
    """What a marked take's parameters say: {"watermark": "perth"}, or nothing when marking is off."""
    return {"watermark": watermark.NAME} if settings.watermark else {}


def marked_chunk(chunk: NarrationChunk, mark: Callable[[au.Audio], au.Audio],
                 settings: NarrationSettings) -> NarrationChunk:
    """`chunk` with every attempt watermarked and its audio rebuilt around the kept one, so a narration is made of
    exactly its stored attempts (Fix re-joins them) and is marked without a second pass. Unchanged when off."""
    attempts = tuple(dataclasses.replace(a, audio=mark(a.audio)) for a in chunk.attempts)
    if attempts[chunk.chosen].audio is chunk.attempts[chunk.chosen].audio:
        return chunk
    kept = attempts[chunk.chosen].audio
    return dataclasses.replace(chunk, attempts=attempts, audio=surround(kept, chunk.lead_s, chunk.pause_s, settings))


class Marking:
    """The "check a file" action: is this audio one of ours (or any PerthNet-marked synthetic audio)?"""

    threshold = watermark.THRESHOLD

    def check(self, source: str | Path | bytes | au.Audio) -> float:
        """Confidence 0..1 that `source` (a path, file bytes or decoded audio) carries the watermark;
        `threshold` and above reads as marked."""
        if source is None or source == "":
            raise ValueError("Upload an audio file to check first.")
        audio = source if isinstance(source, au.Audio) else au.load(
            source if isinstance(source, bytes) else Path(source).read_bytes(), max_seconds=None,
            allow_silent=True)
        return watermark.shared().detect(audio)

    def verdict(self, source: str | Path | bytes | au.Audio) -> str:
        """One line for a person: the confidence and what it means."""
        score = self.check(source)
        if score >= self.threshold:
            return f"Watermarked (synthetic audio made with a PerthNet-marking tool): confidence {score:.2f}."
        return f"No watermark found: confidence {score:.2f} (below {self.threshold:.2f})."
