"""Edit a recording by editing its transcript (task "edit").

diff.py turns the edited text into word-level edits, splice.py is the one place where audio is cut and
joined, seams.py measures cuts and seams, roomtone.py makes new speech sit in the recording's own
loudness and noise, check.py listens to an edit's seams (hearing.py compares what is heard with what should be
there), align.py aligns the transcript a second way (by a voice speaking it), in_context.py speaks new words
between their neighbours, editor.py plans a whole edit and applies it in one pass, and records.py holds the
values it passes around (requests to the engine, edits as made).
"""
from .align import SpeakMarked, SpokenAligner, warp_times
from .check import Hear, SeamCheck, junction_heard
from .hearing import extra_beside, new_words_heard, words_heard
from .diff import (EditError, WordEdit, align_words, diff_words, highlight, join_words, normalize_token, tokens,
                   word_units)
from .in_context import speak_in_context
from .records import AppliedEdit, EditResult, SynthesisRequest, Synthesize
from .editor import TranscriptEditor
from .roomtone import match_to_context, room_tone
from .seams import low_energy_point, noise_floor_db, pause_floor_db, seam_click_ratio
from .splice import Splice, SpliceResult, apply_splices, cut, fade, insert_silence, join_takes, trim

__all__ = [
    "EditError", "WordEdit", "tokens", "normalize_token", "word_units", "join_words", "align_words", "diff_words",
    "highlight",
    "Splice", "SpliceResult", "apply_splices", "cut", "insert_silence", "trim", "fade", "join_takes",
    "low_energy_point", "seam_click_ratio", "noise_floor_db", "pause_floor_db",
    "room_tone", "match_to_context",
    "SynthesisRequest", "Synthesize", "AppliedEdit", "EditResult", "TranscriptEditor", "Hear", "SeamCheck",
    "junction_heard", "new_words_heard", "words_heard", "extra_beside", "SpeakMarked", "SpokenAligner", "warp_times",
    "speak_in_context",
]
