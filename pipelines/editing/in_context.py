"""New words spoken with their neighbours, then cut out: an insert that continues the sentence around it.

Spoken alone, an inserted word is a sentence of its own: it starts from rest, ends in a falling pitch and a
full stop, and every sound is said as if nothing came before or after it. Spoken between the words that will
surround it in the recording, it gets the running sentence's intonation and the transitions into and out of
its neighbours. A voice that knows where each of its phrases begins (`SpeakMarked`, e.g.
PiperSpeak.speak_marked) says the neighbours and the new words as one sentence, and the new words are cut
out at those marks. The edit's check (check.py) then hears whether they are understood in place; if not, the
editor speaks them again alone.
"""
from __future__ import annotations

from ..audio import Audio
from .align import SpeakMarked
from .diff import tokens
from .splice import trim

__all__ = ["speak_in_context", "CONTEXT_NEIGHBOURS", "CUT_MARGIN_S"]

CONTEXT_NEIGHBOURS = 2  # recording words spoken either side of the new ones
# The cut reaches this far past each mark, into the neighbour, so that the new words' first and last sounds
# are kept whole under the editor's 10 ms edge fades (marks come in the voice's ~12 ms duration frames).
CUT_MARGIN_S = 0.01


def speak_in_context(speak_marked: SpeakMarked, text: str, before: str, after: str,
                     neighbours: int = CONTEXT_NEIGHBOURS) -> Audio:
    """`text` as spoken between the last `neighbours` words of `before` and the first of `after` (either may
    be empty: an insert at the start or end of the recording), cut out of that sentence at the voice's marks."""
    if not text.strip():
        raise ValueError("text must have words to speak.")
    lead = " ".join(tokens(before)[-neighbours:]) if neighbours > 0 else ""
    tail = " ".join(tokens(after)[:neighbours]) if neighbours > 0 else ""
    phrases = [p for p in (lead, text, tail) if p.strip()]
    audio, marks = speak_marked(phrases)
    if len(marks) != len(phrases) - 1:
        raise ValueError(f"the voice marked {len(marks)} phrase starts for {len(phrases)} phrases.")
    begin = marks[0] - CUT_MARGIN_S if lead else 0.0
    end = marks[-1] + CUT_MARGIN_S if tail else audio.duration
    if end <= begin:
        raise ValueError(f"the voice marked no time for {text!r} ({begin:.3f}-{end:.3f} s).")
    return trim(audio, max(0.0, begin), min(audio.duration, end))
