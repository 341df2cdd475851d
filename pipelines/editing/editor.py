"""Planning and applying a whole transcript edit in one pass.

The creator's edited text becomes word edits (diff.py); each edit becomes one splice placed at word
boundaries, where a cut is least audible:

- a deletion cuts in the pauses around the deleted words, at their quietest points, keeping about the
  longer of the two pauses (within [min_pause_s, max_pause_s]) so the speech around it neither runs
  together nor stalls;
- an insertion or replacement is synthesized by the `synthesize` callback the studio passes in (an
  offline fixed voice or a cloner, given the surrounding text and a voice prompt cut from the recording),
  trimmed, brought to the loudness and background of the speech around the edit (roomtone.py) and put
  just outside the neighbouring words; with a recogniser (`hear`), a replacement's old words are taken
  out where the check hears no trace of them (check.py), as a deletion's are, and new words are heard in
  place and tried again until heard as intended.

All splices then go through one `apply_splices` call, so every time in the plan refers to the original
recording and nothing is cut twice.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..audio import Audio, is_silent, resample, trim_silence
from ..base import Transcript, Word
from ..transcribe.timing import tidy_words
from .align import SpokenAligner, aligned_cuts
from .check import (NEIGHBOURS, OTHER_PAD_S, OTHER_WORDS, WINDOW_PAD_S, Hear, SeamCheck, check_deletion, check_speech,
                    cut_candidates, cuts_past_trace)
from .diff import (EditError, WordEdit, align_words, attach_punctuation, diff_words, join_words, normalize_token,
                   tokens, word_units)
from .neighbours import by_length, spread_over, with_neighbours
from .records import AppliedEdit, EditResult, Synthesize, heard_score
from .request import synthesis_request
from .roomtone import match_to_context, room_tone
from .seams import low_energy_point
from .splice import MAX_CROSSFADE_S, Splice, SpliceResult, apply_splices, fade, trim

__all__ = ["TranscriptEditor", "SPEECH_TRIES"]

CONTEXT_S = 2.0  # speech either side of an edit that inserted speech is matched to
TRIM_PAD_S = 0.02  # synthesized speech is trimmed to its sound plus this (faded), dropping the engine's silence...
PAUSE_S = 0.05  # ...and gets this much room tone either side: the short pause between words in running speech
_EDGE_FADE_S = 0.01
_NEAR_WORD_S = 0.04  # cuts next to a word are searched for this far into the pause
_CUT_REACH_S = 0.015  # a deletion's cut aims within this of the point that leaves the planned pause
# How far outside the ASR's pause between two words a cut may move to find a quieter point. A stop
# consonant's closure inside a word is as quiet as a pause: searching to the middles of the neighbouring
# words let both cuts of "brought" (in "Ages brought calligraphy") land on its "t" closure (22 ms removed
# instead of the word), and cut the "t" off a kept "brought" when "calligraphy" was deleted.
_CUT_SLACK_S = 0.04
# Ways new words are said before the recogniser is believed that they cannot be heard as intended (the engine
# is told which: SynthesisRequest.attempt); new words heard with a trace of a word beside them are also put in
# once past it, said the same way. A later try is kept only where it is heard better.
SPEECH_TRIES = 4
# New words must be heard with each of these spans of the recording either side of them (check_speech):
# words only just made out are heard with one and not with the other.
SPEECH_WINDOWS_S = (1.0, 0.5)


@dataclass(frozen=True)
class _Planned:
    edit: WordEdit
    start: float
    end: float
    content: Audio | None
    provenance: dict
    handle_s: float = 0.0
    check: SeamCheck | None = None
    attempt: int = 0  # which way new words were said (SynthesisRequest.attempt)
    moved: bool = False  # cuts moved off those planned, past a trace: the neighbours must be heard whole
    widened: bool = False  # said with the kept word either side, re-spoken too (neighbours.py)


def _mid(word: Word) -> float:
    return (word.start + word.end) / 2


class TranscriptEditor:
    """Applies transcript edits to a recording (see the module doc). Holds no state between calls."""

    def __init__(self, synthesize: Synthesize | None = None, *, crossfade_s: float = 0.01,
                 min_pause_s: float = 0.08, max_pause_s: float = 0.6, hear: Hear | None = None,
                 align: SpokenAligner | None = None) -> None:
        """`hear`: a recogniser for the closed-loop check (check.py); None plans from word timings alone.
        `align`: a second alignment of the transcript (align.py) whose cuts the check tries when the plan fails."""
        if synthesize is not None and not callable(synthesize):
            raise ValueError(f"synthesize must be a callable or None, got {type(synthesize).__name__}.")
        if not 0.0 <= crossfade_s <= MAX_CROSSFADE_S:
            raise ValueError(f"crossfade_s must be between 0 and {MAX_CROSSFADE_S:g} s, got {crossfade_s!r}.")
        if not 0.0 <= min_pause_s <= max_pause_s <= 5.0:
            raise ValueError(f"pauses must satisfy 0 <= min_pause_s <= max_pause_s <= 5 s, got "
                             f"{min_pause_s!r} and {max_pause_s!r}.")
        self.synthesize = synthesize
        self.crossfade_s = float(crossfade_s)
        self.min_pause_s = float(min_pause_s)
        self.max_pause_s = float(max_pause_s)
        self.hear = hear
        self.align = align

    # --------------------------------------------------------------------------------------- planning

    @staticmethod
    def _words(transcript: Transcript, duration: float | None = None) -> tuple[Word, ...]:
        if not isinstance(transcript, Transcript):
            raise EditError(f"transcript must be a Transcript, got {type(transcript).__name__}.")
        if not transcript.words:
            raise EditError("No speech was found in this recording (its transcript has no words), so there is "
                            "nothing to edit by text. Record or upload speech, or transcribe it again.")
        end = max(float(w.end) for w in transcript.words)
        words = tidy_words(transcript.words, end if duration is None else duration)
        if not words:
            raise EditError("No speech was found in this recording (its transcript has no words), so there is "
                            "nothing to edit by text.")
        return words

    def changes(self, transcript: Transcript, edited_text: str) -> list[WordEdit]:
        """The word edits `edited_text` makes to the transcript, without touching any audio (for live previews,
        where the unchanged text is a normal state, not a mistake). Raises EditError for a transcript with no
        words or an edit that deletes everything."""
        return diff_words(self._words(transcript), edited_text)

    def plan(self, transcript: Transcript, edited_text: str) -> list[WordEdit]:
        """`changes`, refusing an edit that changes nothing (what applying needs)."""
        edits = self.changes(transcript, edited_text)
        if not edits:
            raise EditError("Nothing changed: the edited transcript says the same words as the recording "
                            "(changes to capitals and punctuation alone do not change the audio).")
        return edits

    # -------------------------------------------------------------------------------------- applying

    def apply(self, audio: Audio, transcript: Transcript, edited_text: str) -> EditResult:
        """Make the edited transcript true of the audio, in one pass (see the module doc)."""
        if not isinstance(audio, Audio):
            raise EditError(f"audio must be an Audio value, got {type(audio).__name__}.")
        if audio.num_samples == 0 or is_silent(audio):
            raise EditError("No speech was found in this recording (it is silent), so there is nothing to edit.")
        last = max((float(w.end) for w in transcript.words), default=0.0) if isinstance(transcript, Transcript) else 0
        if last > audio.duration + 0.25:
            raise EditError(f"This transcript does not belong to the recording: its words run to {last:.2f} s but the "
                            f"audio is {audio.duration:.2f} s long. Transcribe the recording again.")
        words = self._words(transcript, audio.duration)
        edits = diff_words(words, edited_text)
        if not edits:
            raise EditError("Nothing changed: the edited transcript says the same words as the recording "
                            "(changes to capitals and punctuation alone do not change the audio).")
        needs_voice = [e for e in edits if e.kind != "delete"]
        if needs_voice and self.synthesize is None:
            said = ", ".join(f"'{e.new_text}'" for e in needs_voice[:3])
            raise EditError(f"Saying new words ({said}) needs a speech engine, and none was given. Pick a voice "
                            "engine for edits, or only delete words.")
        planned = [self._plan_delete(audio, words, e) if e.kind == "delete" else self._plan_speech(audio, words, e)
                   for e in edits]
        spliced, applied = self._assemble(audio, words, planned)
        ways = [0] * len(planned)  # the last way each edit's new words were said (SynthesisRequest.attempt)
        moved_once = [False] * len(planned)  # each edit's new words are moved past a trace at most once
        for _ in range(SPEECH_TRIES):  # new words not heard as intended: said another way, or moved past a trace
            offered = {k: self._try_again(audio, words, p, a.check, ways[k] + 1, may_move=not moved_once[k])
                       for k, (p, a) in enumerate(zip(planned, applied))
                       if a.kind != "delete" and a.check and not a.check.ok}
            retry = {k: r for k, r in offered.items() if r is not None}
            if not retry:
                break
            for k, r in retry.items():  # a move says the words the way they were said: `ways` stays
                ways[k] = max(ways[k], r.attempt)
                moved_once[k] = moved_once[k] or (r.moved and not planned[k].moved)
            again = [retry.get(k, p) for k, p in enumerate(planned)]
            retried = self._assemble(audio, words, again)
            if heard_score(retried[1]) > heard_score(applied):
                planned, (spliced, applied) = again, retried  # kept only if heard better: else the first try stays
        respoken: dict[int, int] = {}  # deletions made by saying the kept words either side: the search's tries
        for k in range(len(planned)):  # new words never heard, or a deletion no cut leaves clean: said (once more)
            a = applied[k]  # with the kept word either side, as heard now; a deletion's only if then heard clean
            wide = with_neighbours(planned[k].edit, words, [p.edit for p in planned]) if self._respeak(a) else None
            if wide is not None:
                again = [*planned[:k], self._plan_speech(audio, words, wide, widened=True), *planned[k + 1:]]
                widened = self._assemble(audio, words, again)
                check = widened[1][k].check
                if heard_score(widened[1]) > heard_score(applied) and (a.kind != "delete" or (check and check.ok)):
                    if a.kind == "delete" and a.check:
                        respoken[k] = a.check.tries
                    planned, (spliced, applied) = again, widened
        recorded = []
        for k, (a, p) in enumerate(zip(applied, planned)):
            if a.kind != "delete" and a.check is not None:
                tries, cuts = _tries_and_cuts(p, ways[k], moved_once[k], respoken.get(k))
                a = dataclasses.replace(a, check=dataclasses.replace(a.check, tries=tries, cuts=cuts))
            recorded.append(a)
        applied = tuple(recorded)
        new_words = self._result_words(words, edited_text, applied, spliced)
        return EditResult(audio=spliced.audio, edits=applied, seams=spliced.seams, words=new_words,
                          text=" ".join(tokens(edited_text)), splice=spliced)

    def _respeak(self, applied: AppliedEdit) -> bool:
        """Whether an edit gets its last try, said with the kept word either side (neighbours.py): new words not
        heard, or a deletion whose every cut left a trace or clipped a neighbour (with an engine to say them)."""
        check = applied.check
        if applied.kind == "delete":
            return self.synthesize is not None and check is not None and check.verdict in ("remnant", "clipped")
        return check is not None and check.verdict == "not heard"

    def _assemble(self, audio: Audio, words: Sequence[Word],
                  planned: Sequence[_Planned]) -> tuple[SpliceResult, tuple[AppliedEdit, ...]]:
        """All planned splices made in one pass, and each edit as applied, new words checked by ear."""
        spliced = apply_splices(audio, [Splice(p.start, p.end, p.content, p.handle_s) for p in planned],
                                self.crossfade_s)
        return spliced, tuple(
            AppliedEdit(kind=p.edit.kind, old_text=p.edit.old_text, new_text=p.edit.new_text, start=p.start,
                        end=p.end, out_start=span[0], out_end=span[1], provenance=dict(p.provenance),
                        check=p.check if p.edit.kind == "delete" else self._check_speech(spliced.audio, words, p, span))
            for p, span in zip(planned, spliced.spans))

    # -- cut points

    @staticmethod
    def _cut(audio: Audio, lo: float, hi: float, left: float, right: float) -> float:
        """Where to cut for a boundary the ASR put in [lo, hi]: the quietest point between `left` and
        `right` (the middles of the neighbouring words), preferring [lo, hi] (see `low_energy_point`:
        a dip further away must be clearly quieter, since ASR word edges are often that far off), at most
        _CUT_SLACK_S outside [lo, hi]."""
        left = max(0.0, min(max(left, lo - _CUT_SLACK_S), lo))
        right = min(audio.duration, max(min(right, hi + _CUT_SLACK_S), hi))
        return low_energy_point(audio, left, right, prefer=(lo, hi))

    @staticmethod
    def _gap(audio: Audio, words: Sequence[Word], k: int) -> tuple[float, float, float, float]:
        """The pause before word k (k == len: after the last word) and the middles of the words around it."""
        lo = words[k - 1].end if k > 0 else 0.0
        hi = words[k].start if k < len(words) else audio.duration
        left = _mid(words[k - 1]) if k > 0 else 0.0
        right = _mid(words[k]) if k < len(words) else audio.duration
        return lo, hi, left, right

    def _plan_delete(self, audio: Audio, words: Sequence[Word], edit: WordEdit) -> _Planned:
        i, j = edit.start, edit.end
        lo1, hi1, left1, right1 = self._gap(audio, words, i)  # pause before the deleted words
        lo2, hi2, left2, right2 = self._gap(audio, words, j)  # pause after them
        before, after = hi1 - lo1, hi2 - lo2
        target = min(max(max(before, after), self.min_pause_s), self.max_pause_s)
        keep_left = min(before, target / 2)
        keep_right = min(after, target - keep_left)
        keep_left = min(before, target - keep_right)
        c1 = lo1 + keep_left
        c2 = hi2 - keep_right
        reach = _CUT_REACH_S
        start = self._cut(audio, max(lo1, c1 - reach), min(hi1, c1 + reach), left1, right1)
        end = max(start, self._cut(audio, max(lo2, c2 - reach), min(hi2, c2 + reach), left2, right2))
        if self.hear is None:
            return _Planned(edit, start, end, None, {})
        (start, end), check = self._checked_cuts(audio, words, i, j, (start, end), (lo1, hi1), (lo2, hi2))
        return _Planned(edit, start, end, None, {}, check=check)

    def _checked_cuts(self, audio: Audio, words: Sequence[Word], i: int, j: int, planned: tuple[float, float],
                      gap_before: tuple[float, float], gap_after: tuple[float, float],
                      ) -> tuple[tuple[float, float], SeamCheck]:
        """Cuts that take words[i:j] out so that the kept words either side are heard side by side, nothing
        between (check.py): from the `planned` cuts, searched around the pauses before and after the words."""
        assert self.hear is not None
        window = self._window(audio, words, i, j)
        left, removed, right = ([w.text for w in words[max(0, i - NEIGHBOURS):i]], [w.text for w in words[i:j]],
                                [w.text for w in words[j:j + NEIGHBOURS]])
        align = self.align
        second = None if align is None else lambda: aligned_cuts(align, audio, window, planned, left, removed, right)
        starts, ends = cut_candidates(audio, *gap_before, planned[0]), cut_candidates(audio, *gap_after, planned[1])
        return check_deletion(audio, window, starts, ends, left, removed, right, self.hear, self.crossfade_s,
                              aligned=second, other=self._window(audio, words, i, j, OTHER_WORDS, OTHER_PAD_S))

    @staticmethod
    def _window(audio: Audio, words: Sequence[Word], i: int, j: int, count: int = NEIGHBOURS,
                pad: float = WINDOW_PAD_S) -> tuple[float, float]:
        """The recording from `count` words before words[i:j] to `count` after, `pad` beyond (its ends at edges)."""
        lo = words[max(0, i - count)].start - pad if i > 0 else 0.0
        hi = words[min(len(words), j + count) - 1].end + pad if j < len(words) else audio.duration
        return max(0.0, lo), min(audio.duration, hi)

    def _check_speech(self, result: Audio, words: Sequence[Word], planned: _Planned,
                      span: tuple[float, float]) -> SeamCheck | None:
        """What the recogniser hears where new words went in, in SPEECH_WINDOWS_S around them."""
        if self.hear is None:
            return None
        i, j = planned.edit.start, planned.edit.end
        windows = [(max(0.0, span[0] - pad), min(result.duration, span[1] + pad)) for pad in SPEECH_WINDOWS_S]
        return check_speech(result, windows, [w.text for w in words[max(0, i - NEIGHBOURS):i]],
                            tokens(planned.edit.new_text), [w.text for w in words[j:j + NEIGHBOURS]], self.hear,
                            neighbours=planned.moved)

    def _try_again(self, audio: Audio, words: Sequence[Word], planned: _Planned, check: SeamCheck | None,
                   way: int, may_move: bool) -> _Planned | None:
        """The next try at new words not heard as intended, or None when all are spent. New words heard with a
        trace of a word beside them ("Ask her to very quietly bring" heard "Ask it very quietly *to* bring": the
        recogniser put "to" before where it is said) go in again once, said the same way, with the cut on that
        side at the next dip past the trace; other new words are said the next `way` where they went in."""
        cuts = cuts_past_trace(audio, words, planned.edit.start, planned.edit.end, (planned.start, planned.end),
                               check.extra_side) if may_move and check and check.verdict == "extra" else None
        if cuts is not None:
            return self._plan_speech(audio, words, planned.edit, planned.attempt, cuts, moved=True)
        if way >= SPEECH_TRIES:
            return None
        return self._plan_speech(audio, words, planned.edit, way, (planned.start, planned.end), planned.moved)

    def _plan_speech(self, audio: Audio, words: Sequence[Word], edit: WordEdit, attempt: int = 0,
                     cuts: tuple[float, float] | None = None, moved: bool = False, widened: bool = False) -> _Planned:
        """New words spoken and matched to the recording, to go in at the cuts found for them (or `cuts`)."""
        i, j = edit.start, edit.end
        lo1, hi1, left1, right1 = self._gap(audio, words, i)
        if cuts is not None:  # a second try goes in where the first did
            start, end = cuts
        elif edit.kind == "insert":
            if 0 < i < len(words):  # between two words: the quietest point of the pause between them
                start = self._cut(audio, lo1, hi1, left1, right1)
            elif i == 0:  # before the first word: right before it, so the recording's lead-in stays first
                start = self._cut(audio, max(lo1, hi1 - _NEAR_WORD_S), hi1, left1, right1)
            else:  # after the last word
                start = self._cut(audio, lo1, min(hi1, lo1 + _NEAR_WORD_S), left1, right1)
            end = start
        else:  # replace: cut just outside the replaced words, keeping the pauses around them
            lo2, hi2, left2, right2 = self._gap(audio, words, j)
            start = self._cut(audio, max(lo1, hi1 - _NEAR_WORD_S), hi1, left1, right1)
            end = max(start, self._cut(audio, lo2, min(hi2, lo2 + _NEAR_WORD_S), left2, right2))
            if self.hear is not None:
                # the old words go as a deletion's do (heard, cuts searched): Whisper's edges are often 50-100 ms
                # off, and a trace left beside the new words is heard as one ("harbour" for "bring": "harbour and")
                (start, end), _ = self._checked_cuts(audio, words, i, j, (start, end), (lo1, hi1), (lo2, hi2))
        request = dataclasses.replace(synthesis_request(audio, words, edit), attempt=attempt)
        assert self.synthesize is not None
        result = self.synthesize(request)
        if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], Audio)):
            raise EditError("The speech engine's callback must return (Audio, provenance dict).")
        speech, provenance = result
        if speech.num_samples == 0 or is_silent(speech):
            raise EditError(f"The speech engine returned no speech for '{edit.new_text}'. Try again or pick "
                            "another engine.")
        speech = resample(trim_silence(speech, pad_seconds=TRIM_PAD_S), audio.sample_rate)
        speech = fade(speech, _EDGE_FADE_S, _EDGE_FADE_S)
        # The engine's own silence (often digital zero) is replaced by a short pause of the recording's
        # room tone, which match_to_context lays under the whole piece; the tone also makes the handles
        # for the crossfades (see splice.py), so the fades never sound the words being replaced.
        rate = audio.sample_rate
        handle = int(round(self.crossfade_s * rate))
        pause = np.zeros(handle + int(round(PAUSE_S * rate)), dtype=np.float32)
        padded = Audio(np.concatenate([pause, speech.samples, pause]), rate)
        context = self._context(audio, start, end)
        tone = room_tone(audio, words, padded.duration)
        content = match_to_context(padded, context, tone=tone)
        return _Planned(edit, start, end, content, _provenance(provenance), handle / rate, attempt=attempt,
                        moved=moved, widened=widened)

    # -- what the engine gets

    @staticmethod
    def _context(audio: Audio, start: float, end: float) -> Audio:
        """The original speech CONTEXT_S either side of [start, end] (the replaced words left out)."""
        left = trim(audio, max(0.0, start - CONTEXT_S), start).samples
        right = trim(audio, end, min(audio.duration, end + CONTEXT_S)).samples
        return Audio(np.concatenate([left, right]), audio.sample_rate)

    # -- the result's transcript

    def _result_words(self, words: Sequence[Word], edited_text: str, applied: Sequence[AppliedEdit],
                      spliced: SpliceResult) -> tuple[Word, ...]:
        """Words of the result: the edited text's tokens, timed by the original word they stand for (kept
        words) or spread over their edit's span by length (new words). Punctuation-only tokens join the
        word before them."""
        raw = tokens(edited_text)
        timed: list[tuple[str, float, float, float]] = []  # text, start, end, confidence
        edits = iter(applied)
        for tag, i1, i2, j1, j2 in align_words(words, edited_text):
            if tag == "equal":
                comparable = [j for j in range(j1, j2) if normalize_token(raw[j])]
                units = [[words[i1 + k] for k in unit] for unit in word_units(words[i1:i2])]
                kept = [unit for unit in units if normalize_token(join_words(unit))]
                for j, unit in zip(comparable, kept):
                    timed.append((raw[j], self._shifted(spliced, unit[0].start), self._shifted(spliced, unit[-1].end),
                                  min(w.confidence for w in unit)))
                continue
            edit = next(edits)
            new = [raw[j] for j in range(j1, j2) if normalize_token(raw[j])]
            if not new:
                continue
            timed += [(token, a, b, 1.0) for token, (a, b) in zip(new, by_length(new, _said(edit)))]
        for edit in [e for e in applied if e.check and e.check.kept_words_said_again]:  # timed where said now
            timed = spread_over(timed, (edit.out_start, edit.out_end), _said(edit))
        out_words = [Word(text, start, end, confidence) for text, start, end, confidence in timed]
        return tidy_words(attach_punctuation(out_words, raw), spliced.audio.duration)

    @staticmethod
    def _shifted(spliced: SpliceResult, t: float) -> float:
        """Original time t in the result; times inside a removed stretch go to where that stretch was."""
        mapped = spliced.map_time(t)
        if mapped is not None:
            return mapped
        for start, _ in spliced.removed:
            if start < t:
                candidate = spliced.map_time(start)
                if candidate is not None:
                    mapped = candidate
        return mapped if mapped is not None else 0.0


def _tries_and_cuts(planned: _Planned, way: int, moved: bool, deletion_tries: int | None) -> tuple[int, str]:
    """How many versions of an edit's new words were heard (the first, each other way, a move, with neighbours;
    for a deletion said again, its search's and that one) and where the kept one's cuts came from."""
    if deletion_tries is not None:
        return deletion_tries + 1, "respoken"
    return 1 + way + moved + planned.widened, "neighbours" if planned.widened else "moved" if planned.moved else "plan"


def _said(edit: AppliedEdit) -> tuple[float, float]:
    """Where an edit's new words are said in the result: its splice less the pauses put around them."""
    pad = min(PAUSE_S + TRIM_PAD_S, (edit.out_end - edit.out_start) / 4)
    return edit.out_start + pad, edit.out_end - pad


def _provenance(value: Any) -> dict:
    """The engine's provenance as a plain dict (an engine that reports none gets {})."""
    return dict(value) if isinstance(value, dict) else {}
