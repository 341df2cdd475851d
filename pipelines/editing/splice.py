"""The one splice core: every waveform edit (transcript edits, cuts, inserted pauses, joined takes) goes
through `apply_splices`, so there is one place that decides how audio is joined.

A splice replaces the original audio between two times with new content (or nothing). The result is a
sequence of segments (kept original audio, new content, silence) joined at seams with a short
equal-power crossfade: equal-power because the two sides of a seam are unrelated sounds, whose powers
(not amplitudes) add, so the level does not dip mid-fade.

A crossfade needs audio past the seam on both sides ("handles"). Kept original audio has real audio
past each cut, but that audio is what the edit removes: faded through, the onset of a replaced word (a
"k" burst, say) would leak into the result. New content can bring its own handles (`Splice.handle_s`:
the editor pads synthesized speech with room tone), so where it does, the fade lies in the kept
original audio next to the seam and reads only the content's handle. Content without handles gets the
original's handle faded under its first or last samples instead, and then every kept original sample
is copied bit for bit. A cut between two pieces of original audio is faded centred on the seam. Output
length is always exactly the kept audio plus the new content: no crossfade shortens anything, so times
stay predictable.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..audio import Audio, resample
from .diff import EditError

__all__ = ["Splice", "SpliceResult", "apply_splices", "cut", "insert_silence", "trim", "fade", "join_takes",
           "MAX_CROSSFADE_S"]

MAX_CROSSFADE_S = 0.1  # longer fades smear the words either side of a seam


@dataclass(frozen=True)
class Splice:
    """Replace the original audio in [start, end] (seconds) with `audio` (None or empty: remove only).
    start == end inserts. Content at another rate than the recording's is resampled to it.
    `handle_s`: that much audio at each end of `audio` is not placed in the result but only faded
    through at the seams (see the module doc)."""

    start: float
    end: float
    audio: Audio | None = None
    handle_s: float = 0.0


@dataclass(frozen=True)
class SpliceResult:
    """The spliced audio and where everything went.

    seams: every seam time in the result (s). spans: per splice (in the order given), where its new
    content lies in the result. offsets: (original_time, shift) pieces, sorted: kept original audio at
    t >= original_time (up to the next piece) appears at t + shift in the result.
    """

    audio: Audio
    seams: tuple[float, ...]
    spans: tuple[tuple[float, float], ...]
    offsets: tuple[tuple[float, float], ...]
    removed: tuple[tuple[float, float], ...] = ()  # original [start, end) intervals that were replaced

    def map_time(self, t: float) -> float | None:
        """Where original time `t` lies in the result, or None if it was removed (cut or replaced)."""
        for start, end in self.removed:
            if start < t < end:
                return None
        shift = 0.0
        for original, piece_shift in self.offsets:
            if t >= original:
                shift = piece_shift
        return t + shift


# ------------------------------------------------------------------------------------------- segments


@dataclass(frozen=True)
class _Segment:
    """A piece of the output: samples [a, b) of `source`, whose samples outside [a, b) are its handles.
    kind "original" (the recording: its handles are audio an edit removes), "content" (new audio: its
    handles are there to be faded through) or "zeros" (silence that can be extended at will)."""

    kind: str
    source: np.ndarray
    a: int
    b: int

    @property
    def length(self) -> int:
        return self.b - self.a

    def handle_before(self) -> float:
        return math.inf if self.kind == "zeros" else self.a

    def handle_after(self) -> float:
        return math.inf if self.kind == "zeros" else self.source.size - self.b

    def read(self, lo: int, hi: int) -> np.ndarray:
        """source[lo:hi] with zeros outside the source (zeros segments are all zeros)."""
        out = np.zeros(hi - lo, dtype=np.float32)
        if self.kind == "zeros":
            return out
        s, e = max(lo, 0), min(hi, self.source.size)
        if e > s:
            out[s - lo: e - lo] = self.source[s:e]
        return out


def equal_power_ramps(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Equal-power fade-out and fade-in of n samples (cos / sin, sampled at half-sample offsets)."""
    theta = (np.arange(n, dtype=np.float64) + 0.5) / n * (np.pi / 2)
    return np.cos(theta).astype(np.float32), np.sin(theta).astype(np.float32)


def _seam_extents(segments: list[_Segment], fade: int) -> list[tuple[int, int]]:
    """Per seam (between segments k and k+1): (h1, h2) = how much of the fade lies before and after it.

    h1 (before the seam) reads the right segment's handle, h2 (after it) the left one's. Between original
    audio and content, the content's handle is used first, so the fade lies in the kept original audio
    and nothing the edit removed is heard; otherwise the fade is centred, and pushed onto the side whose
    neighbour has a handle where one side has none. No segment gives more samples to its two fades than
    it has.
    """
    extents = []
    for left, right in zip(segments, segments[1:]):
        after, before = left.handle_after(), right.handle_before()
        if left.kind == "original" and right.kind != "original":
            h1 = min(fade, before)
            h2 = min(fade - h1, after)
        elif right.kind == "original" and left.kind != "original":
            h2 = min(fade, after)
            h1 = min(fade - h2, before)
        else:
            h1, h2 = min(fade // 2, before), min(fade - fade // 2, after)
            rest = fade - h1 - h2
            extra = min(rest, before - h1)
            h1, rest = h1 + extra, rest - extra
            h2 += min(rest, after - h2)
        if h1 + h2 < fade and after == 0 and before == 0:  # neither side can be extended: dip to zero
            h1, h2 = fade // 2, fade - fade // 2
        extents.append((int(h1), int(h2)))
    # Fit: a segment's share of the fade on its left seam (h2) and right seam (h1) must fit in it.
    for k, segment in enumerate(segments):
        left_use = extents[k - 1][1] if k > 0 else 0
        right_use = extents[k][0] if k < len(extents) else 0
        if left_use + right_use > segment.length:
            scale = segment.length / (left_use + right_use)
            if k > 0:
                h1, h2 = extents[k - 1]
                extents[k - 1] = (h1, int(h2 * scale))
            if k < len(extents):
                h1, h2 = extents[k]
                extents[k] = (int(h1 * scale), h2)
    return extents


def _render(segments: list[_Segment], fade: int) -> tuple[np.ndarray, list[int], list[int]]:
    """Join the segments; returns the samples, each segment's start in the output and each seam's position."""
    starts = np.cumsum([0] + [s.length for s in segments]).tolist()
    out = np.empty(starts[-1], dtype=np.float32)
    for segment, start in zip(segments, starts):
        out[start: start + segment.length] = segment.read(segment.a, segment.b)
    seams = starts[1:-1]
    for k, (h1, h2) in enumerate(_seam_extents(segments, fade)):
        n = h1 + h2
        if n == 0:
            continue
        left, right, at = segments[k], segments[k + 1], seams[k]
        fade_out, fade_in = equal_power_ramps(n)
        if left.handle_after() == 0 and right.handle_before() == 0:
            # Two pieces with nothing past their edges: fade each to silence at the seam (no overlap).
            half_out, half_in = (np.cos(np.linspace(0, np.pi / 2, h1 + 2)[1:-1]) ** 2,
                                 np.sin(np.linspace(0, np.pi / 2, h2 + 2)[1:-1]) ** 2)
            out[at - h1: at] = left.read(left.b - h1, left.b) * half_out.astype(np.float32)
            out[at: at + h2] = right.read(right.a, right.a + h2) * half_in.astype(np.float32)
            continue
        out[at - h1: at + h2] = (left.read(left.b - h1, left.b + h2) * fade_out
                                 + right.read(right.a - h1, right.a + h2) * fade_in)
    return out, starts, seams


# ---------------------------------------------------------------------------------------------- splices


def _seconds(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(float(value)):
        raise EditError(f"{name} must be a finite number of seconds, got {value!r}.")
    return float(value)


def _check_crossfade(crossfade_s: float) -> float:
    value = _seconds(crossfade_s, "crossfade_s")
    if not 0.0 <= value <= MAX_CROSSFADE_S:
        raise EditError(f"crossfade_s must be between 0 and {MAX_CROSSFADE_S:g} s, got {crossfade_s!r}.")
    return value


def _to_sample(t: float, audio: Audio, name: str) -> int:
    """A time in the recording as a sample index; half a sample of rounding slack at the ends."""
    slack = 0.5 / audio.sample_rate
    if t < -slack or t > audio.duration + slack:
        raise EditError(f"{name} {t:.3f} s is outside the recording (0 to {audio.duration:.3f} s).")
    return min(max(int(round(t * audio.sample_rate)), 0), audio.num_samples)


def apply_splices(audio: Audio, splices: Sequence[Splice], crossfade_s: float = 0.01) -> SpliceResult:
    """Apply all splices in one pass (see the module doc).

    Splices may come in any order and may touch (one ends where the next starts; two inserts at one time
    keep their given order) but not overlap. Overlapping splices, times outside the recording or
    start > end raise EditError. Every original sample outside [start - crossfade_s, end + crossfade_s]
    of every splice is copied bit for bit: a cut fades crossfade_s / 2 of kept audio each side, content
    with handles fades crossfade_s of it, content without handles none. An edge of the recording that a
    splice exposes (a cut at the very start or end) gets a short fade instead, so the result does not
    start or stop with a step.
    """
    if not isinstance(audio, Audio):
        raise EditError(f"audio must be an Audio value, got {type(audio).__name__}.")
    fade = int(round(_check_crossfade(crossfade_s) * audio.sample_rate))
    rate = audio.sample_rate
    planned = []
    for k, splice in enumerate(splices):
        if not isinstance(splice, Splice):
            raise EditError(f"splice {k} must be a Splice, got {type(splice).__name__}.")
        start, end = _seconds(splice.start, "Splice start"), _seconds(splice.end, "Splice end")
        if start > end:
            raise EditError(f"Splice {k} starts after it ends ({start:.3f} s > {end:.3f} s).")
        a, b = _to_sample(start, audio, "Splice start"), _to_sample(end, audio, "Splice end")
        content = np.zeros(0, dtype=np.float32)
        handle = 0
        if splice.audio is not None:
            if not isinstance(splice.audio, Audio):
                raise EditError(f"Splice {k}'s audio must be an Audio value, got {type(splice.audio).__name__}.")
            content = resample(splice.audio, rate).samples
            handle = int(round(_seconds(splice.handle_s, "Splice handle_s") * rate))
            if handle < 0 or 2 * handle > content.size:
                raise EditError(f"Splice {k}'s handles ({splice.handle_s!r} s each end) do not fit in its "
                                f"{content.size / rate:.3f} s of audio.")
        planned.append((a, b, k, content, handle))
    planned.sort(key=lambda p: (p[0], p[1], p[2]))
    for (a0, b0, k0, *_), (a1, b1, k1, *_) in zip(planned, planned[1:]):
        if a1 < b0:
            raise EditError(f"Edits overlap: {a0 / rate:.3f}-{b0 / rate:.3f} s and {a1 / rate:.3f}-{b1 / rate:.3f} s "
                            "change the same audio; combine them into one edit.")

    segments: list[_Segment] = []
    owner: list[int | None] = []  # the splice each segment's content belongs to (None: original audio)
    position = 0
    offsets: list[tuple[int, int]] = [(0, 0)]  # (original sample, shift in samples)
    shift = 0
    removed = []
    for a, b, k, content, handle in planned:
        if a > position:
            segments.append(_Segment("original", audio.samples, position, a))
            owner.append(None)
        core = content.size - 2 * handle
        # An empty one is a placeholder: it marks where a cut's seam is and takes no part in rendering.
        segments.append(_Segment("content", content, handle, handle + core))
        owner.append(k)
        shift += core - (b - a)
        offsets.append((b, shift))
        if b > a:
            removed.append((a / rate, b / rate))
        position = b
    if position < audio.num_samples or not segments:
        segments.append(_Segment("original", audio.samples, position, audio.num_samples))
        owner.append(None)

    spans_at: dict[int, int] = {}
    live: list[_Segment] = []
    live_owner: list[int | None] = []
    for segment, who in zip(segments, owner):
        if segment.length == 0:
            if who is not None:
                spans_at[who] = len(live)  # its seam is before the next live segment
            continue
        live.append(segment)
        live_owner.append(who)
    # Edges exposed by a cut at the very start or end: fade from / to silence.
    head, tail = [], []
    if live and live[0].kind == "original" and live[0].a > 0:
        head = [_Segment("zeros", np.zeros(0, np.float32), 0, 0)]
    if live and live[-1].kind == "original" and live[-1].b < audio.num_samples:
        tail = [_Segment("zeros", np.zeros(0, np.float32), 0, 0)]
    rendered = head + live + tail
    samples, starts, seam_positions = _render(rendered, fade)
    starts = starts[len(head):]  # output starts of the live segments (the head is empty)
    seams = [p / rate for p, left, right in zip(seam_positions, rendered, rendered[1:])
             if left.length and right.length]

    spans: list[tuple[float, float]] = [(0.0, 0.0)] * len(planned)
    for index, who in enumerate(live_owner):
        if who is not None:
            spans[who] = (starts[index] / rate, (starts[index] + live[index].length) / rate)
    for who, index in spans_at.items():
        at = starts[index] / rate if index < len(live) else samples.size / rate
        spans[who] = (at, at)
    # A cut at the very start or end of the recording has no seam; drop offsets that repeat.
    merged: list[tuple[float, float]] = []
    for original, piece_shift in offsets:
        if merged and merged[-1][1] == piece_shift / rate:
            continue
        merged.append((original / rate, piece_shift / rate))
    return SpliceResult(audio=Audio(samples, rate), seams=tuple(seams), spans=tuple(spans),
                        offsets=tuple(merged), removed=tuple(removed))


def cut(audio: Audio, start: float, end: float, crossfade_s: float = 0.01) -> SpliceResult:
    """Remove [start, end] with a crossfade across the cut."""
    return apply_splices(audio, [Splice(start, end)], crossfade_s)


def insert_silence(audio: Audio, at: float, seconds: float, crossfade_s: float = 0.01) -> SpliceResult:
    """Insert `seconds` of digital silence at `at`; the audio either side fades out into and back in
    from it. (Edits that add pauses inside speech use room tone instead: see roomtone.py.)"""
    seconds = _seconds(seconds, "seconds")
    if seconds < 0:
        raise EditError(f"Silence length must not be negative, got {seconds} s.")
    gap = Audio(np.zeros(int(round(seconds * audio.sample_rate)), dtype=np.float32), audio.sample_rate)
    return apply_splices(audio, [Splice(at, at, gap)], crossfade_s)


def trim(audio: Audio, start: float, end: float) -> Audio:
    """Keep [start, end] of the audio (sample-exact, no fades: the caller decides about edges)."""
    start, end = _seconds(start, "Trim start"), _seconds(end, "Trim end")
    if start > end:
        raise EditError(f"Trim start {start:.3f} s is after its end {end:.3f} s.")
    a, b = _to_sample(start, audio, "Trim start"), _to_sample(end, audio, "Trim end")
    return Audio(audio.samples[a:b], audio.sample_rate)


def fade(audio: Audio, fade_in_s: float = 0.0, fade_out_s: float = 0.0) -> Audio:
    """Raised-cosine fade in and out, so a clip starts and stops without a click. Fades longer than the
    clip are shortened to fit it."""
    fade_in_s, fade_out_s = _seconds(fade_in_s, "fade_in_s"), _seconds(fade_out_s, "fade_out_s")
    if fade_in_s < 0 or fade_out_s < 0:
        raise EditError(f"Fade lengths must not be negative, got {fade_in_s} s and {fade_out_s} s.")
    out = audio.samples.copy()
    total = out.size
    n_in, n_out = (int(round(s * audio.sample_rate)) for s in (fade_in_s, fade_out_s))
    if n_in + n_out > total:
        scale = total / (n_in + n_out)
        n_in, n_out = int(n_in * scale), int(n_out * scale)
    if n_in:
        out[:n_in] *= (np.sin((np.arange(n_in) + 0.5) / n_in * np.pi / 2) ** 2).astype(np.float32)
    if n_out:
        out[total - n_out:] *= (np.cos((np.arange(n_out) + 0.5) / n_out * np.pi / 2) ** 2).astype(np.float32)
    return Audio(out, audio.sample_rate)


def join_takes(parts: Sequence[Audio], gap_s: float = 0.3, crossfade_s: float = 0.01) -> SpliceResult:
    """Join takes into one with `gap_s` of silence between them, at the first take's rate.

    Each take fades out into the gap and in from it; with gap_s 0 the takes meet with a fade to silence
    on each side (takes have no audio past their ends to crossfade with). `spans` are where each take
    lies in the result; `offsets` maps the first take's times (it is never moved).
    """
    if not parts:
        raise EditError("Nothing to join: no takes were given.")
    gap_s = _seconds(gap_s, "gap_s")
    if gap_s < 0:
        raise EditError(f"gap_s must not be negative, got {gap_s} s.")
    for k, part in enumerate(parts):
        if not isinstance(part, Audio):
            raise EditError(f"take {k} must be an Audio value, got {type(part).__name__}.")
    rate = parts[0].sample_rate
    fade_n = int(round(_check_crossfade(crossfade_s) * rate))
    gap = int(round(gap_s * rate))
    segments: list[_Segment] = []
    take_index: list[int] = []
    for k, part in enumerate(parts):
        samples = resample(part, rate).samples
        if k and gap:
            segments.append(_Segment("zeros", np.zeros(0, np.float32), 0, gap))
            take_index.append(-1)
        if samples.size:
            segments.append(_Segment("content", samples, 0, samples.size))
            take_index.append(k)
    if not segments:
        return SpliceResult(Audio(np.zeros(0, np.float32), rate), (), tuple((0.0, 0.0) for _ in parts), ((0.0, 0.0),))
    samples, starts, seam_positions = _render(segments, fade_n)
    spans: list[tuple[float, float]] = [(0.0, 0.0)] * len(parts)
    for index, k in enumerate(take_index):
        if k >= 0:
            spans[k] = (starts[index] / rate, (starts[index] + segments[index].length) / rate)
    return SpliceResult(audio=Audio(samples, rate), seams=tuple(p / rate for p in seam_positions),
                        spans=tuple(spans), offsets=((0.0, 0.0),))
