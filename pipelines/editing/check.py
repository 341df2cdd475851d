"""Listening to an edit: is the result heard as the words it should say around each seam?

Whisper's word timings are often 50-100 ms off, and in fluent speech there is no pause to cut in, so a cut
placed from them alone leaves part of a deleted word ("always" removed gave "you *just* want") or clips a
kept one about half the time. Planning can't see that; a recogniser can. So the few seconds around a
deletion's seam are heard, and while its neighbouring words are not heard side by side with nothing between
them, a cut moves to the next quiet dip of the signal (where word boundaries really are) in the direction
the fault points: outwards for a trace of the removed word (on the side whose end of the removed word the
trace spells like, else each side in turn), away from a clipped neighbour; a second alignment of the words
(align.py) gives one more version to try. Inserted and replacing words are heard too. Every seam gets a
verdict the user sees and the take records.

The recogniser comes in as `Hear` (a piece of audio -> the words heard in it), so this module needs no
model. A clean plan costs two short recognitions (the window around it, and another with less context and more
audio beyond, OTHER_WORDS), a bad one up to CHECK_TRIES, a widened version (a plan heard clipped: a trace run
into a neighbour reads the same), the aligned version and one of each unedited window.
"""
from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

import numpy as np

from ..audio import Audio
from ..base import Word
from .hearing import as_expected, comparable, heard_beside, matched, new_words_heard, words_heard
from .splice import Splice, apply_splices, trim

__all__ = ["Hear", "SeamCheck", "check_deletion", "check_speech", "cut_candidates", "junction_heard", "kept_as_heard",
           "cuts_past_trace", "CHECK_TRIES", "OTHER_WORDS", "OTHER_PAD_S"]

Hear = Callable[[Audio], list[str]]  # a piece of audio -> the words heard in it

CHECK_TRIES = 4  # versions of a deletion heard at most (the plan and three others)
NEIGHBOURS = 3  # kept words either side of a seam that must be heard around it
OTHER_WORDS, OTHER_PAD_S = 2, 0.5  # a deletion's second window: fewer words either side, more audio beyond them
WINDOW_PAD_S = 0.1  # audio kept beyond those words, so their edges are not clipped by the window
CUT_REACH_S = 0.15  # cuts are looked for this far outside the ASR's boundary (its usual error)
_DIP_FRAME_S = 0.01
_DIP_HOP_S = 0.005
_SAME_S = 0.008
_STEP_S = 0.1  # a cut moves to the quietest candidate this far in the direction it should go
_OPPOSITE = {"start+": "start-", "start-": "start+", "end+": "end-", "end-": "end+"}
_TRACE_MIN_S = 0.03  # a cut moved past a trace heard beside new words moves at least this far (a syllable's worth)
_FALLBACK_STEP_S = 0.05  # how far a cut moves when no quiet dip lies in the direction it should go


@dataclass(frozen=True)
class SeamCheck:
    """What the recogniser heard around one edit, and whether it is what the edited text says there."""

    verdict: str  # "clean", "remnant" (a trace of removed words), "clipped", "not heard", "extra", "unclear"
    expected: str  # the words that should be heard there, "|" marking a deletion's seam
    heard: str
    tries: int = 1  # versions of the edit heard before this one was kept
    cuts: str = "plan"  # a deletion's kept cuts: "plan", "search" (moved to the signal's dips), "alignment" (align.py);
    # new words' cuts: "plan", or "moved" past a trace heard beside them; both: "neighbours" (said with the kept word
    # either side, neighbours.py); a deletion no cut left clean, made so: "respoken" (its edit is then a replacement)
    extra_side: str = ""  # an "extra" heard only "before" or only "after" the new words (check_speech)

    @property
    def ok(self) -> bool:
        return self.verdict == "clean"

    @property
    def kept_words_said_again(self) -> bool:
        """The kept word either side was re-spoken with the edit (neighbours.py): no longer the recording's own."""
        return self.cuts in ("neighbours", "respoken")

    def message(self, what: str) -> str:
        """One line for the person editing."""
        if self.verdict == "clean":
            return f"{what}: heard as intended (“{self.heard}”)."
        if self.verdict == "unclear":
            return f"{what}: not checked — the recogniser mishears these words in the original too."
        problem = {"remnant": "a trace of the removed words is heard",
                   "clipped": "a word next to the cut is not heard clearly",
                   "not heard": "the new words are not heard clearly",
                   "extra": "a word that should not be there is heard beside the new words"}[self.verdict]
        expected = self.expected.replace(" | ", " ")
        return f"{what}: {problem} (“{self.heard}”; expected “{expected}”). Listen to it."

    def to_dict(self) -> dict:
        return {"verdict": self.verdict, "expected": self.expected, "heard": self.heard, "tries": self.tries,
                "cuts": self.cuts}


def junction_heard(heard: Sequence[str], left: Sequence[str], right: Sequence[str]) -> str:
    """The verdict on a deletion: "clean" when the last word before the seam and the first after it are
    heard next to each other (at the start or end of the window: the first or last heard), "remnant" when
    both are heard with something between them, else "clipped"."""
    return _diagnosis(heard, left, right)[0]


def _diagnosis(heard: Sequence[str], left: Sequence[str], right: Sequence[str],
               removed: Sequence[str] = ()) -> tuple[str, tuple[str, ...], bool]:
    """The verdict, and which way the cuts should move to mend it: "start+" (later), "start-" (earlier),
    "end+", "end-", most promising first. A trace between the neighbours means a cut fell inside the removed
    words (widen: first on the side whose end of the `removed` words the trace spells like); a neighbour not
    heard means a cut fell inside it (narrow on its side). Last, whether the trace's side is known."""
    heard_, left_, right_ = comparable(heard), comparable(left), comparable(right)
    expected = left_ + right_
    if not expected:
        return ("clean", (), False) if not heard_ else ("remnant", ("start-", "end+"), False)
    at = matched(expected, heard_)
    junction = len(left_)
    if junction == 0:  # the first words were removed: what comes first decides
        fused = _extends(heard_, at.get(0), expected[0], at_end=False)
        if at.get(0) == 0 and not fused:
            return "clean", (), False
        # a trace is at the cut, or at the recording's start (ASR word starts are often late)
        return ("remnant", ("end+", "start-"), False) if fused or 0 in at else ("clipped", ("end-",), False)
    if junction == len(expected):  # the last words were removed
        last = junction - 1
        fused = _extends(heard_, at.get(last), expected[last], at_end=True)
        if at.get(last) == len(heard_) - 1 and not fused:
            return "clean", (), False
        return ("remnant", ("start-", "end+"), False) if fused or last in at else ("clipped", ("start+",), False)
    before, after = at.get(junction - 1), at.get(junction)
    if _extends(heard_, before, expected[junction - 1], at_end=True):
        return _outwards(heard_[before][len(expected[junction - 1]):] if before is not None else "", removed)
    if _extends(heard_, after, expected[junction], at_end=False):
        return _outwards(heard_[after][:-len(expected[junction])] if after is not None else "", removed,
                         end_first=True)
    if before is not None and after is not None:
        return ("clean", (), False) if after == before + 1 else _outwards("".join(heard_[before + 1:after]), removed)
    moves = (() if before is not None else ("start+",)) + (() if after is not None else ("end-",))
    return "clipped", moves, False


def _outwards(trace: str, removed: Sequence[str], end_first: bool = False) -> tuple[str, tuple[str, ...], bool]:
    """A remnant's diagnosis: widen the side `trace` spells like first (`end_first` decides when it is unknown)."""
    side = _trace_side(trace, removed)
    moves = ("end+", "start-") if side == "end" or (side is None and end_first) else ("start-", "end+")
    return "remnant", moves, side is not None


def _trace_side(trace: str, removed: Sequence[str]) -> str | None:
    """Which end of the removed words a trace heard at the seam spells like: "end" when it shares more letters
    with the end of the last ("use" left of "increase", "its" of "crafts", the "s" of "Let's" of "us": the
    end cut fell inside it and should move later), "start" when with the start of the first ("in" of
    "inside"), None when neither or both alike (a recogniser spells a remnant syllable as it hears it)."""
    words = [re.sub(r"\W", "", word) for word in comparable(removed)]
    trace = re.sub(r"\W", "", trace)  # "'s" of "let's"
    if not trace or not words:
        return None
    head = len(os.path.commonprefix([trace, words[0]]))
    tail = len(os.path.commonprefix([trace[::-1], words[-1][::-1]]))
    return "end" if tail > head else "start" if head > tail else None


def _extended(heard: str, expected: str, at_end: bool) -> bool:
    """A neighbour of the seam heard with more on the seam's side ("pushing" as "pushingly" with "Billy" cut
    after it, "had" as "hadn't" with "come"): a trace of the removed word run into it, not a near miss of it."""
    return (len(expected) >= 3 and len(heard) > len(expected)
            and (heard.startswith(expected) if at_end else heard.endswith(expected)))


def _extends(heard: Sequence[str], at: int | None, expected: str, at_end: bool) -> bool:
    """Whether the seam neighbour `expected` is heard extended on the seam's side: the heard word matched to it
    (index `at`), or, when none is (too unlike it: "they" as "they're"), any heard word."""
    return any(_extended(word, expected, at_end) for word in ([heard[at]] if at is not None else heard))


def _levels_db(audio: Audio, times: np.ndarray) -> np.ndarray:
    rate = audio.sample_rate
    half = max(1, int(_DIP_FRAME_S * rate / 2))
    squares = np.concatenate([[0.0], np.cumsum(audio.samples.astype(np.float64) ** 2)])
    centre = np.clip(np.round(times * rate).astype(int), 0, audio.num_samples)
    lo, hi = np.clip(centre - half, 0, audio.num_samples), np.clip(centre + half, 0, audio.num_samples)
    power = (squares[hi] - squares[lo]) / np.maximum(hi - lo, 1)
    return 10.0 * np.log10(power + 1e-12)


def cut_candidates(audio: Audio, lo: float, hi: float, planned: float, count: int = 5) -> list[float]:
    """The planned cut, then up to `count` other cut points for a boundary the ASR put in [lo, hi]: the
    quietest local dips of the signal within CUT_REACH_S of it."""
    times = np.arange(max(_DIP_HOP_S, lo - CUT_REACH_S), min(audio.duration - _DIP_HOP_S, hi + CUT_REACH_S),
                      _DIP_HOP_S)
    found = [planned]
    if len(times) >= 3:
        level = _levels_db(audio, times)
        dips = [k for k in range(1, len(times) - 1) if level[k] <= level[k - 1] and level[k] <= level[k + 1]]
        for k in sorted(dips, key=lambda k: level[k]):
            if len(found) > count:
                break
            if all(abs(times[k] - t) > _SAME_S for t in found):
                found.append(float(times[k]))
    return found


def check_deletion(audio: Audio, window: tuple[float, float], starts: Sequence[float], ends: Sequence[float],
                   left: Sequence[str], removed: Sequence[str], right: Sequence[str], hear: Hear,
                   crossfade_s: float, tries: int = CHECK_TRIES,
                   aligned: Callable[[], tuple[float, float] | None] | None = None,
                   other: tuple[float, float] | None = None) -> tuple[tuple[float, float], SeamCheck]:
    """Cut points for a deletion heard cleanly in the recording's `window` around it, and the check.

    `starts` and `ends` are candidate cuts (`cut_candidates`), the planned ones first. The plan is heard;
    while it is not clean, a cut moves to the next candidate in the direction the verdict points (a trace
    of the removed word: outwards; a clipped neighbour: away from it), up to `tries` versions. Once a
    version is not clean, the window is heard unedited too, and the kept words are expected as heard there
    (`kept_as_heard`); if the recogniser mishears even the removed words, the verdict is "unclear" (it
    cannot judge), not a fault of the cut. `aligned`, when given, is asked once the plan fails for the cuts
    of a second alignment (align.py), heard as one more version; if it is not clean either, the search goes on
    from the plan as without it. When none is clean, the version heard closest to the kept words side by side
    is kept (the plan on a tie), unless the removed words are heard whole in it. `other`, when given, is a
    second window of the recording, from OTHER_WORDS words before the cut to as many after with more audio
    beyond (another context: a trace only just made out is heard with one and not the other): a version heard
    clean is heard there too, and is clean only if it is there as well, unless the recogniser mishears those
    words in that window unedited (it cannot judge there)."""
    lo, hi = window
    piece = trim(audio, lo, hi)
    expected = " ".join([*left, "|", *right]).strip()
    versions: list[tuple[bool, float, int, tuple[float, float], SeamCheck]] = []
    kept: tuple[list[str], list[str]] = (comparable(left), comparable(right))
    unclear: bool | None = None  # whether the recogniser mishears the unedited window (heard once, when one fails)

    # the second window, trimmed once (None where it is the first: a short recording, both reach its ends), the
    # kept words it holds, and whether they were heard in it unedited yet (once, when a version fails there)
    other_piece = trim(audio, *other) if other is not None and other != window else None
    other_start = other[0] if other is not None else 0.0
    other_kept: tuple[list[str], list[str]] = (list(left[-OTHER_WORDS:]), list(right[:OTHER_WORDS]))
    other_heard_unedited = False

    def edited(at: Audio, start: float, cuts: tuple[float, float]) -> Audio:
        return apply_splices(at, [Splice(max(0.0, cuts[0] - start), max(0.0, cuts[1] - start))], crossfade_s).audio

    def listen(cuts: tuple[float, float], source: str) -> tuple[SeamCheck, tuple[str, ...], bool]:
        """One version heard: its check, the moves its fault points to, and whether a trace's side is known."""
        nonlocal kept, unclear, other_piece, other_kept, other_heard_unedited
        heard = hear(edited(piece, lo, cuts))
        verdict, moves, sided = _diagnosis(heard, *kept, removed)
        if verdict != "clean" and unclear is None:
            # the words as the recogniser hears them in the unedited window become what it should hear around
            # the cut: a word the transcript has wrong ("Anth" for "Aunt") would otherwise fail every version
            kept, unclear = kept_as_heard(left, removed, right, hear(piece))
            verdict, moves, sided = _diagnosis(heard, *kept, removed)
        if verdict == "clean" and other_piece is not None:
            heard_there = hear(edited(other_piece, other_start, cuts))
            found = _diagnosis(heard_there, *other_kept, removed)
            if found[0] != "clean" and not other_heard_unedited:  # as in the first window, and it may not judge
                other_heard_unedited = True
                other_kept, mishears = kept_as_heard(other_kept[0], removed, other_kept[1], hear(other_piece))
                other_piece = None if mishears else other_piece  # a window misheard unedited is not heard again
                found = _diagnosis(heard_there, *other_kept, removed)
            if other_piece is not None and found[0] != "clean":
                heard, (verdict, moves, sided) = heard_there, found
        check = SeamCheck(verdict, expected, " ".join(heard), len(versions) + 1, source)
        # a version where the removed words are still heard whole ranks below every other
        whole = words_heard(heard, [*kept[0], *removed, *kept[1]])
        versions.append((not whole, _closeness(heard, *kept), -len(versions), cuts, check))
        return check, moves, sided

    start, end = planned = (starts[0], ends[0])
    tried = {planned}
    first = ""  # the plan's verdict
    for attempt in range(1, tries + 1):
        check, moves, sided = listen((start, end), "plan" if attempt == 1 else "search")
        if check.ok:
            return (start, end), check
        if attempt == 1:
            first = check.verdict
        second = aligned() if aligned is not None and attempt == 1 else None
        if second is not None and second not in tried and second[1] > second[0]:
            tried.add(second)
            if (found := listen(second, "alignment")[0]).ok:
                return second, found
        if check.verdict == "remnant" and attempt % 2 == 0 and not sided:  # unknown side: widen each in turn
            moves = moves[::-1]
        elif check.verdict == first == "clipped" and attempt == 2:
            # a trace fused with the word next to it ("Let" left before "us": "Let's"; "to" and the end of "exit":
            # "duet") is heard as that word clipped: once a move away from it failed, the plan widened is heard
            # too, one version more, and the search goes on from whichever was heard closer
            for move in _widening(moves, first_removed=not kept[0], last_removed=not kept[1]):
                wider = _moved(audio, *planned, move, starts, ends, tried)
                if wider is None or wider in tried:
                    continue
                tried.add(wider)
                widened, wider_moves, _ = listen(wider, "search")
                if widened.ok:
                    return wider, widened
                if versions[-1][:2] > versions[-2][:2]:
                    (start, end), check, moves = wider, widened, wider_moves
                break
        for move in moves:  # the first move that reaches an untried pair
            candidate = _moved(audio, start, end, move, starts, ends, tried)
            if candidate is not None and candidate not in tried:
                start, end = candidate
                tried.add(candidate)
                break
        else:
            break
    # none heard clean: the version heard closest to the kept words (the plan on a tie), the removed words gone
    *_, best, check = max(versions)
    return best, dataclasses.replace(check, verdict="unclear" if unclear else check.verdict, tries=len(versions))


def _widening(moves: Sequence[str], first_removed: bool, last_removed: bool) -> tuple[str, ...]:
    """Moves that widen a cut whose removed words may have left a trace fused with a kept neighbour: at the
    recording's start or end the trace is most often on the recording's side (the ASR's first word starts late,
    its last ends early), elsewhere it is on the side of the neighbour heard clipped."""
    if first_removed:
        return "start-", "end+"
    if last_removed:
        return "end+", "start-"
    return tuple(_OPPOSITE[m] for m in moves)


def _closeness(heard: Sequence[str], left: Sequence[str], right: Sequence[str]) -> float:
    """How near what was heard is to the kept words side by side (difflib's ratio, 1.0: the same)."""
    expected = comparable([*left, *right])
    return SequenceMatcher(a=expected, b=as_expected(comparable(heard), expected), autojunk=False).ratio()


def kept_as_heard(left: Sequence[str], removed: Sequence[str], right: Sequence[str],
                  heard: Sequence[str]) -> tuple[tuple[list[str], list[str]], bool]:
    """The kept words either side as the recogniser heard them in the unedited window (transcript words it
    hears as others take the heard spelling; words it does not hear there are not expected), and whether it
    mishears the window beyond that (the removed words not heard, a mishearing across them: it cannot judge)."""
    left_, removed_, right_ = comparable(left), comparable(removed), comparable(right)
    words, heard_ = left_ + removed_ + right_, comparable(heard)
    middle = len(left_) + len(removed_)
    kept_left, kept_right = list(left_), list(right_)
    matcher = SequenceMatcher(a=words, b=as_expected(heard_, words), autojunk=False)
    for op, a0, a1, b0, b1 in reversed(matcher.get_opcodes()):  # from the end: earlier indices stay valid
        if op not in ("replace", "delete"):
            continue
        if a1 <= len(left_):  # within one side ("and graved" heard as "engraved")
            kept_left[a0:a1] = heard_[b0:b1]
        elif a0 >= middle:
            kept_right[a0 - middle:a1 - middle] = heard_[b0:b1]
    # a seam neighbour heard longer even with the removed words still there ("impressions so") is said so
    if kept_left:
        kept_left[-1] = next((w for w in heard_ if _extended(w, kept_left[-1], at_end=True)), kept_left[-1])
    if kept_right:
        kept_right[0] = next((w for w in heard_ if _extended(w, kept_right[0], at_end=False)), kept_right[0])
    return (kept_left, kept_right), not words_heard(heard_, kept_left + removed_ + kept_right)


def _moved(audio: Audio, start: float, end: float, move: str, starts: Sequence[float], ends: Sequence[float],
           tried: set[tuple[float, float]], min_gap_s: float = 0.02) -> tuple[float, float] | None:
    """(start, end) with one cut moved in the direction `move` names: to the quietest candidate within
    _STEP_S, or the nearest one if none is that close. A cut already tried that way bounds the move (it
    failed the other way: the boundary lies between), so the search halves the gap when no candidate
    lies inside it."""
    side = 0 if move.startswith("start") else 1
    options = starts if side == 0 else ends
    current = start if side == 0 else end
    later = move.endswith("+")

    def beyond(t: float, of: float) -> bool:
        return t > of + _SAME_S if later else t < of - _SAME_S

    ahead = [t for t in options if beyond(t, current)]
    if not ahead:  # no quiet dip that way: a plain step, inside the recording
        ahead = [min(audio.duration, current + _FALLBACK_STEP_S) if later else max(0.0, current - _FALLBACK_STEP_S)]
    walls = [pair[side] for pair in tried if beyond(pair[side], current)]
    if walls:
        wall = min(walls) if later else max(walls)
        ahead = [t for t in ahead if beyond(wall, t)] or [(current + wall) / 2]
    ahead = [t for t in ahead if beyond(t, current)]
    if not ahead:
        return None
    near = [t for t in ahead if abs(t - current) <= _STEP_S]
    if near:
        level = _levels_db(audio, np.array(near))
        target = near[int(np.argmin(level))]
    else:
        target = min(ahead) if later else max(ahead)
    pair = (target, end) if move.startswith("start") else (start, target)
    return pair if pair[1] > pair[0] + min_gap_s else None


def check_speech(audio: Audio, windows: Sequence[tuple[float, float]], left: Sequence[str], new: Sequence[str],
                 right: Sequence[str], hear: Hear, neighbours: bool = False) -> SeamCheck:
    """Whether the new words are heard, in order, in every one of the result's `windows` around an insert or
    replacement, with no word more beside them in the widest (the first: it hears the words either side).
    Words only just made out are heard in one window and not in another (the recogniser's guess leans on the
    words around them), so hearing them in two is what tells they are clearly said. A kept word beside them
    must be heard there too ("clipped" if neither is: a recogniser that hears only the new words is not hearing
    them in the recording), and with `neighbours` both must: where an edit's cut was moved into a word the
    recogniser placed, that word must still be heard whole."""
    if not windows:
        raise ValueError("check_speech needs at least one window to hear.")
    expected = " ".join([*left, *new, *right])
    heard: list[str] = []
    for k, window in enumerate(windows):
        heard = hear(trim(audio, *window))
        if not new_words_heard(heard, new):
            return SeamCheck("not heard", expected, " ".join(heard))
        if k == 0:
            found = heard_beside(heard, left[-1:], new, right[:1])
            sides = [side for side, extra in found._asdict().items() if extra]  # "before", "within", "after"
            if sides:
                one_side = sides[0] if sides in (["before"], ["after"]) else ""
                return SeamCheck("extra", expected, " ".join(heard), extra_side=one_side)
            unheard = (found.before is None) + (found.after is None)
            if (unheard and unheard == bool(left) + bool(right)) or (neighbours and unheard):  # heard alone
                return SeamCheck("clipped", expected, " ".join(heard))
    return SeamCheck("clean", expected, " ".join(heard))


def cuts_past_trace(audio: Audio, words: Sequence[Word], i: int, j: int, cuts: tuple[float, float],
                    side: str) -> tuple[float, float] | None:
    """Where new words that replace words[i:j] (an insert: i == j, one point) go next when heard with a trace on
    one `side` of them ("extra"). Heard before them, it is the start of the removed words or of the word after
    an insert's point, which the recogniser began too late: the start moves earlier, at most to the middle of
    the word before. Heard after them, it is the end of the removed words or of the word before the point,
    ended too early: the end moves later, at most to the middle of the word after. The quietest dip of the
    signal there, or None."""
    start, end = cuts
    if side == "before" and i > 0:
        lo, hi, at = (words[i - 1].start + words[i - 1].end) / 2, start, start
    elif side == "after" and j < len(words):
        lo, hi, at = end, (words[j].start + words[j].end) / 2, end
    else:
        return None
    for t in cut_candidates(audio, lo, hi, at, count=10)[1:]:
        pair = (t, t) if i == j else (t, end) if side == "before" else (start, t)
        if lo < t < hi and abs(t - at) > _TRACE_MIN_S and pair[1] >= pair[0]:
            return pair
    return None
