"""Making new speech sit in a recording: the same loudness, and the same noise underneath it.

Synthesized speech is clean: dropped into a recording with an audible room or hiss it sounds pasted in,
first because the background drops out under it, then because its level differs. So new speech is
brought to the loudness of the speech around the edit, and the recording's own background ("room tone",
taken from its pauses) is laid under it at the level that makes the noise floor continuous.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..audio import Audio, frame_levels_db, loudness, match_loudness, resample
from ..audio.levels import cap_peak
from ..base import Word
from .diff import EditError
from .seams import FLOOR_DBFS, noise_floor_db
from .splice import equal_power_ramps

__all__ = ["room_tone", "match_to_context"]

_FRAME_S = 0.02
_WORD_MARGIN_S = 0.03  # keep this far from word edges: decays, breaths and ASR timing slop live there
_MIN_STRETCH_S = 0.04  # shorter quiet stretches are mostly crossfade
# A pause frame is background if it is within 3 dB of the pauses' 10th percentile (the noise floor as
# `noise_floor_db` measures it): word tails, breaths and reverb in the pauses are left out, so the tone is
# as steady as the room itself. If that leaves under 0.2 s of material, the rule widens to the 25th
# percentile + 6 dB.
_QUIET_RULES = ((10.0, 3.0), (25.0, 6.0))
_MIN_TONE_S = 0.2
_LOOP_CROSSFADE_S = 0.02
_PEAK_LIMIT = 10.0 ** (-1.0 / 20.0)  # -1 dBFS, as narration chunks


def _pauses(audio: Audio, words: Sequence[Word]) -> list[tuple[int, int]]:
    """Sample ranges between words (and before the first / after the last), away from word edges."""
    rate = audio.sample_rate
    edges = [0.0] + [t for w in words for t in (w.start, w.end)] + [audio.duration]
    ranges = []
    for lo, hi in zip(edges[::2], edges[1::2]):
        a, b = int((lo + _WORD_MARGIN_S) * rate), int((hi - _WORD_MARGIN_S) * rate)
        if b - a >= _MIN_STRETCH_S * rate:
            ranges.append((max(a, 0), min(b, audio.num_samples)))
    return ranges


def _quiet_stretches(audio: Audio, ranges: Sequence[tuple[int, int]]) -> list[np.ndarray]:
    """The runs of quiet 20 ms frames inside `ranges` (at least 40 ms long), as sample arrays."""
    frame = max(1, int(round(_FRAME_S * audio.sample_rate)))
    found: list[tuple[int, np.ndarray]] = []  # (range start, frame levels)
    for a, b in ranges:
        count = (b - a) // frame
        if count:
            found.append((a, frame_levels_db(audio.samples[a: a + count * frame], frame)))
    if not found:
        return []
    every = np.maximum(np.concatenate([levels for _, levels in found]), FLOOR_DBFS)
    min_frames = max(1, int(np.ceil(_MIN_STRETCH_S / _FRAME_S)))
    stretches: list[np.ndarray] = []
    for percentile, range_db in _QUIET_RULES:
        limit = float(np.percentile(every, percentile)) + range_db
        stretches = []
        for a, levels in found:
            quiet = np.concatenate([[False], np.maximum(levels, FLOOR_DBFS) <= limit, [False]]).astype(np.int8)
            edges = np.flatnonzero(np.diff(quiet))
            for start, stop in zip(edges[::2], edges[1::2]):
                if stop - start >= min_frames:
                    stretches.append(audio.samples[a + start * frame: a + stop * frame])
        if sum(x.size for x in stretches) >= _MIN_TONE_S * audio.sample_rate:
            break
    return stretches


def _loop(pieces: Sequence[np.ndarray], total: int, crossfade: int) -> np.ndarray:
    """Chain pieces (cycling, every other pass played backwards so the loop does not repeat exactly) with
    equal-power crossfades (noise pieces are unrelated, so their powers add) until `total` samples."""
    out = np.zeros(total, dtype=np.float32)
    if not pieces or total == 0:
        return out
    position, turn = 0, 0
    while position < total:
        piece = pieces[turn % len(pieces)]
        if (turn // len(pieces)) % 2:
            piece = piece[::-1]
        turn += 1
        overlap = min(crossfade, piece.size // 2, position)
        start = position - overlap
        take = min(piece.size, total - start)
        chunk = piece[:take].astype(np.float32).copy()
        if overlap:  # take > overlap always (overlap <= half the piece), so every turn advances
            fade_out, fade_in = equal_power_ramps(overlap)
            out[start: start + overlap] *= fade_out
            chunk[:overlap] *= fade_in
            out[start: start + take] += chunk
        else:
            out[start: start + take] = chunk
        position = start + take
    return out


def room_tone(audio: Audio, words: Sequence[Word], seconds: float) -> Audio:
    """`seconds` of the recording's own background: the quietest stretches of its pauses between words,
    chained and looped with crossfades. Without usable pauses (no words, or words with no gaps) the
    quietest stretches of the whole recording are used; a recording with no quiet stretch at all (or
    digital silence) gives digital silence."""
    if not np.isfinite(seconds) or seconds < 0:
        raise EditError(f"room_tone: seconds must be a non-negative number, got {seconds!r}.")
    total = int(round(seconds * audio.sample_rate))
    stretches = _quiet_stretches(audio, _pauses(audio, words)) if words else []
    if not stretches:
        stretches = _quiet_stretches(audio, [(0, audio.num_samples)])
    crossfade = int(round(_LOOP_CROSSFADE_S * audio.sample_rate))
    return Audio(_loop(stretches, total, crossfade), audio.sample_rate)


def _background(context: Audio, tone: Audio | None, total: int) -> np.ndarray:
    """Background to lay under a piece, at its natural level: the given tone (looped to length) or the
    context's own quiet stretches."""
    if tone is not None and tone.num_samples:
        source = resample(tone, context.sample_rate).samples
        return _loop([source], total, int(round(_LOOP_CROSSFADE_S * context.sample_rate)))
    return room_tone(context, (), total / context.sample_rate).samples


def match_to_context(piece: Audio, context: Audio, tone: Audio | None = None) -> Audio:
    """`piece` (new speech) at the context's rate and speech loudness, with the recording's background
    under it.

    Loudness: integrated LUFS (BS.1770 gating keeps pauses out of both measurements), reached with
    `audio.match_loudness`, whose look-ahead limiter keeps peaks under -1 dBFS without clipping.

    Background: room tone, `tone` if given (the editor passes `room_tone` of the recording's pauses), else
    the context's quietest stretches, laid under the piece at its own level less what the piece already
    has (its quietest 20 ms: about nothing for synthesized speech), so the floor in the piece's pauses
    matches the recording's pauses. Its level is capped at the context's `noise_floor_db`, which is the
    background where the context has pauses and only ever higher than it where the context is dense
    speech, so a tone from a noisier part of the recording is brought down to this part's level.
    A silent context leaves the level alone; a context no noisier than the piece gets no tone.
    """
    if not isinstance(piece, Audio) or not isinstance(context, Audio):
        raise EditError("match_to_context needs two Audio values.")
    rate = context.sample_rate
    piece = resample(piece, rate)
    if piece.num_samples == 0 or context.num_samples == 0:
        return piece
    target = loudness(context)
    out = match_loudness(piece, target) if np.isfinite(target) and np.isfinite(loudness(piece)) else piece
    background = _background(context, tone, out.num_samples)
    if not background.any():
        return out
    natural = noise_floor_db(Audio(background, rate), 0.0, out.duration)
    wanted = min(natural, noise_floor_db(context, 0.0, context.duration))
    frame = max(1, min(out.num_samples, int(round(_FRAME_S * rate))))
    own = float(np.maximum(frame_levels_db(out.samples[: out.num_samples // frame * frame], frame),
                           FLOOR_DBFS).min())
    needed = 10.0 ** (wanted / 10.0) - 10.0 ** (own / 10.0)
    if wanted <= FLOOR_DBFS or needed <= 0:
        return out
    gain = 10.0 ** ((10.0 * np.log10(needed) - natural) / 20.0)
    samples = out.samples + (background * np.float32(gain))
    # The tone may push a limited peak over: then the whole piece comes down a little.
    return Audio(cap_peak(samples, _PEAK_LIMIT), rate)
