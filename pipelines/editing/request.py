"""What a speech engine is given to say an edit's new words: the text, the words around it, a voice prompt cut
from the recording beside the edit, and the recording's speaking rate (records.SynthesisRequest)."""
from __future__ import annotations

from collections.abc import Sequence

from ..audio import Audio
from ..base import Word
from .diff import WordEdit, join_words, word_units
from .records import SynthesisRequest
from .splice import trim

__all__ = ["synthesis_request", "voice_prompt", "speaking_rate", "CONTEXT_WORDS"]

CONTEXT_WORDS = 10  # words of text either side given to the engine
PROMPT_MIN_S, PROMPT_MAX_S = 3.0, 10.0  # voice prompt length cloners work well with
_DEFAULT_RATE = 2.5  # words per second of conversational English, when the recording can't tell


def synthesis_request(audio: Audio, words: Sequence[Word], edit: WordEdit) -> SynthesisRequest:
    """The request for `edit`'s new words, spoken into `audio` whose transcript is `words`."""
    i, j = edit.start, edit.end
    before = join_words(words[max(0, i - CONTEXT_WORDS): i])
    after = join_words(words[j: j + CONTEXT_WORDS])
    prompt, prompt_text = voice_prompt(audio, words, i, j)
    return SynthesisRequest(text=edit.new_text, before=before, after=after, prompt=prompt,
                            prompt_text=prompt_text, words_per_second=speaking_rate(words, i, j))


def voice_prompt(audio: Audio, words: Sequence[Word], i: int, j: int) -> tuple[Audio, str]:
    """A run of whole, unedited words next to words[i:j] lasting PROMPT_MIN_S to PROMPT_MAX_S (the words
    before it preferred: what leads into the edit), or the longest run there is; with its text."""
    def run(indices: range) -> list[int]:
        picked: list[int] = []
        for k in indices:
            span = [*picked, k]
            if max(words[m].end for m in span) - min(words[m].start for m in span) > PROMPT_MAX_S:
                break
            picked.append(k)
            if words[max(picked)].end - words[min(picked)].start >= PROMPT_MIN_S:
                break
        return sorted(picked)

    def length(run_: list[int]) -> float:
        return words[run_[-1]].end - words[run_[0]].start if run_ else 0.0

    left, right = run(range(i - 1, -1, -1)), run(range(j, len(words)))
    chosen = left if length(left) >= PROMPT_MIN_S or length(left) >= length(right) else right
    if not chosen:  # every word is being replaced: the recording itself is the best prompt there is
        chosen = run(range(len(words)))
    starts = {unit[0] for unit in word_units(words)}
    while chosen[0] not in starts:  # never start the prompt on a piece split off a word
        chosen.insert(0, chosen[0] - 1)
    start = max(0.0, words[chosen[0]].start - 0.05)
    end = min(audio.duration, words[chosen[-1]].end + 0.05)
    return trim(audio, start, end), join_words([words[k] for k in chosen])


def speaking_rate(words: Sequence[Word], i: int, j: int) -> float:
    """Words per second over up to CONTEXT_WORDS unedited words either side of words[i:j] (pauses included)."""
    count, seconds = 0, 0.0
    for run_ in (words[max(0, i - CONTEXT_WORDS): i], words[j: j + CONTEXT_WORDS]):
        if len(run_) >= 2:
            count += len(run_)
            seconds += run_[-1].end - run_[0].start
    return count / seconds if count and seconds > 0 else _DEFAULT_RATE
