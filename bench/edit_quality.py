"""Edit quality benchmark: are edited words heard as intended, through the studio's edit use case?

    .venv/bin/python bench/edit_quality.py [--split heldout|tuning|both] [--clips 4] [--skip 0] [--words 6]
        [--inserts 2] [--noise-snr 15]

Real recordings from ../shared/data/speech are imported as takes and transcribed (the transcript the person
would edit). Then, per clip, `--words` single words spread over it are deleted one at a time, twice: with the
closed-loop seam check (`Edit.apply(check=True)`, the default) and without it (cuts from the word timings
alone). A deletion succeeds when the result, transcribed by the full recogniser (with word timings) over the
two kept words either side of the cut and half a second beyond them (whole words: a window edge never clips a
word it judges), has those words next to each other with nothing between; where the manifest has the clip's
exact transcript, those are the words really spoken (not the transcript's, which may be wrong). `--inserts`
two-word insertions and as many one-word replacements per clip are spoken by the default engine (Piper,
matched to the recording): recognised when every new word is heard as itself (a near miss, "arbor" for
"harbour", is another word to a listener; British and American spellings are one word); `insert_clean`: heard so
with no word more between them and the kept words beside them ("once again *at* her"). Where the manifest
has the clip's exact transcript, each checked result is transcribed whole and scored against that transcript
edited the same way (`edited_wer`), beside the original recording's WER against it (`original_wer`);
`wer_delta` is the difference (the goal: at most 0.03).

The check tunes cut points on what it hears, so the speakers are split: `tuning` (LJ Speech, Asterisk's
prompts voice, four LibriSpeech readers) was looked at while building the check; `heldout` (VCTK p287, a
LibriVox reader, CMU, four other LibriSpeech readers) never was. Both are reported.

The judge's own ceiling (`deletion_success_spoken`): the kept words around each deletion, as the judge expects
them, with one transcript word more either side (what its window hears beyond them), spoken side by side by
the default engine (a clean voice that says them fluently) and heard by the judge the same way. Where the
judge fails even there, its language model "repairs" the words a deletion leaves ("why they on" heard "they
are on"), and no cut can pass it; the gap between this figure and 1.0 is how much of the goal lies beyond
what the judge can confirm. `deletion_success_where_judge_hears` is the checked deletions' success over the
deletions whose words it does hear when spoken so. New words the same way (`insert_recognised_spoken`): the
edited passage its window hears (two kept words and one more either side of them) said by the default engine;
where the judge does not hear the new words even then, it takes them for likelier ones ("go harbour ten
meters" heard "go for Harvard"); `insert_recognised_where_judge_hears` is the recognised rate over the rest.

`--noise-snr DB` adds recorded background noise (bench/noise.py) that far under each clip's speech before it is
imported, as a recording made in a noisy room would arrive; the judge then hears the noisy result.

Caveat: the judge is Whisper base, the recogniser the check itself listens with (the only one that runs
offline here), over another window and with timings; a second, independent recogniser would be a stricter
judge. Digits and words (8, eight) and homophones (to, two) count as the same word for both, and a kept word
heard longer on the cut's side ("wood" as "woods" with "blocks" cut after it) as a trace for both.

Prints one JSON object: top-level `deletion_success`, `insert_recognised` (fractions) and `wer_delta` (held-out
split when run), per split the same with `_unchecked` figures side by side, WERs, worst seam click, seconds
per edit.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import csv  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from difflib import SequenceMatcher  # noqa: E402
from statistics import mean  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.noise import with_noise  # noqa: E402
from pipelines import audio as au  # noqa: E402
from pipelines.editing import extra_beside, junction_heard, new_words_heard, trim, word_units  # noqa: E402
from pipelines.editing.hearing import comparable  # noqa: E402
from pipelines.editing.diff import join_words, normalize_token  # noqa: E402
from pipelines.scoring import word_error_rate  # noqa: E402
from pipelines.speak import SpeakPipeline  # noqa: E402
from pipelines.transcribe import TranscribePipeline  # noqa: E402
from studio.config import Settings  # noqa: E402
from studio.media import TRANSCRIBER  # noqa: E402
from studio.service import Studio  # noqa: E402
from studio.speak import DEFAULT_ENGINE  # noqa: E402

SPEECH = Path(os.environ.get("RETAKE_SPEECH_DIR", ROOT.parent / "shared" / "data" / "speech"))
TUNING = ("ljspeech:LJ", "asterisk:allison_smith", "librispeech:4481", "librispeech:8975", "librispeech:7264",
          "librispeech:6848")
HELD_OUT = ("vctk:p287", "librivox:sense_and_sensibility_01", "cmu:goforward", "librispeech:8312",
            "librispeech:7800", "librispeech:1034", "librispeech:1723")
INSERTS = (("very", "quietly"), ("once", "again"), ("in", "truth"))
REPLACEMENTS = ("harbour", "lantern", "silver")
MARGIN_S = 0.5  # audio the judge hears beyond the words it judges
NEIGHBOURS = 2  # kept words either side of an edit the judge expects to hear unchanged


def clips(speakers: tuple[str, ...], per_split: int, skip: int = 0) -> list[Path]:
    """Up to `per_split` clean clips, taken round-robin over the split's speakers, after the first `skip`."""
    with open(SPEECH / "manifest.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["speaker"] in speakers and float(r["seconds"]) >= 2.5
                and r["category"] in ("clean", "noisy-pair-clean")]
    by_speaker = {s: sorted((r for r in rows if r["speaker"] == s), key=lambda r: r["id"]) for s in speakers}
    picked: list[Path] = []
    while len(picked) < skip + per_split and any(by_speaker.values()):
        for s in speakers:
            if by_speaker[s] and len(picked) < skip + per_split:
                picked.append(SPEECH / by_speaker[s].pop(0)["path"])
    return picked[skip:]


def exact_transcripts() -> dict[str, str]:
    """Clip name -> its exact transcript, from the manifest."""
    with open(SPEECH / "manifest.csv", newline="") as f:
        return {Path(r["path"]).stem: r["transcript"] for r in csv.DictReader(f)
                if r["transcript_kind"] == "exact" and r["transcript"].strip()}


def _in_truth(truth: str, words: list) -> tuple[list[str], dict[int, int]]:
    """The exact transcript's words, and where the recogniser's words are found among them (index -> index)."""
    ref = truth.split()
    keys = [" ".join(comparable([w.text])) for w in words]
    matcher = SequenceMatcher(a=keys, b=[" ".join(comparable([t])) for t in ref], autojunk=False)
    return ref, {block.a + k: block.b + k for block in matcher.get_matching_blocks() for k in range(block.size)}


def _span_in_truth(at: dict[int, int], i: int, j: int) -> tuple[int, int] | None:
    """Where the recogniser's words[i:j] (i < j) lie in the exact transcript, or None unless all are found there
    side by side."""
    if any(k not in at for k in range(i, j)) or at[j - 1] - at[i] != j - 1 - i:
        return None
    return at[i], at[j - 1] + 1


def true_neighbours(truth: str | None, words: list, i: int, j: int) -> tuple[list[str], list[str]] | None:
    """The NEIGHBOURS words really spoken either side of the recogniser's words[i:j] (from the exact
    transcript: the judge should not expect a word the transcript has wrong, "Anth" for "Aunt"), or None
    when there is no exact transcript or the deleted words are not found in it."""
    if not truth:
        return None
    ref, at = _in_truth(truth, words)
    span = _span_in_truth(at, i, j)
    if span is None:
        return None
    lo, hi = span
    return ref[max(0, lo - min(NEIGHBOURS, i)):lo], ref[hi:hi + min(NEIGHBOURS, len(words) - j)]


def edited_reference(truth: str, words: list, i: int, j: int, new: list[str]) -> str | None:
    """The exact transcript edited as the recogniser's words[i:j] were (replaced by `new`; i == j inserts
    before words[i]), or None when those words (for an insert: the word after) are not found in it."""
    ref, at = _in_truth(truth, words)
    if i == j:  # an insert: before the next word, or after the last one
        if (i if i < len(words) else i - 1) not in at:
            return None
        lo = hi = at[i] if i < len(words) else at[i - 1] + 1
    else:
        span = _span_in_truth(at, i, j)
        if span is None:
            return None
        lo, hi = span
    return " ".join(ref[:lo] + new + ref[hi:])


def spread(count: int, total: int) -> list[int]:
    return sorted({round(k * (total - 1) / max(1, count - 1)) for k in range(count)}) if total else []


def heard_around(asr: TranscribePipeline, result: au.Audio, edit, words: list, i: int, j: int) -> list[str]:
    """What the judge hears from NEIGHBOURS words before the edited words[i:j] to NEIGHBOURS after, plus
    MARGIN_S: whole words, so the window's own edges never clip a word it judges."""
    lo = words[max(0, i - NEIGHBOURS)].start if i > 0 else edit.out_start
    hi = edit.out_end + (words[min(len(words), j + NEIGHBOURS) - 1].end - edit.end if j < len(words) else 0.0)
    piece = trim(result, max(0.0, lo - MARGIN_S), min(result.duration, max(hi, edit.out_end) + MARGIN_S))
    return [w.text for w in asr(piece, language="en").words]


def said_cleanly(studio: Studio, asr: TranscribePipeline, words: list[str]) -> list[str]:
    """What the judge hears when the default engine (a clean voice that says them fluently) speaks `words`."""
    speech = studio.models.get_as(DEFAULT_ENGINE, SpeakPipeline)(" ".join(words), seed=0)  # the same run to run
    return [w.text for w in asr(speech, language="en").words]


def spoken_side_by_side(studio: Studio, asr: TranscribePipeline, left: list[str], right: list[str],
                        before: list[str], after: list[str]) -> bool:
    """Whether the judge hears `left` and `right` next to each other when a clean voice says them so, with the
    words `before` and `after` them that its window also hears (a lone two-word fragment has no context)."""
    heard = said_cleanly(studio, asr, [*before, *left, *right, *after])
    ok = junction_heard(_around(heard, left, right), left, right) == "clean"
    if not ok:
        print(f"  spoken side by side, {' '.join([*before, *left, *right, *after])!r} was heard as "
              f"{' '.join(heard)!r}", file=sys.stderr)
    return ok


def new_words_spoken(studio: Studio, asr: TranscribePipeline, words: list, i: int, j: int, new: list[str]) -> bool:
    """Whether the judge hears `new` (put in for the recogniser's words[i:j]) when a clean voice says them with
    the kept words its window hears around them (NEIGHBOURS and one more either side): where it does not, its
    language model takes the new words for likelier ones ("go harbour ten meters" heard "go for Harvard"), and
    no splice can pass it."""
    said = ([w.text for w in words[max(0, i - NEIGHBOURS - 1):i]] + new
            + [w.text for w in words[j:j + NEIGHBOURS + 1]])
    heard = said_cleanly(studio, asr, said)
    ok = new_words_heard(heard, new)
    if not ok:
        print(f"  spoken cleanly, {' '.join(said)!r} was heard as {' '.join(heard)!r}", file=sys.stderr)
    return ok


def check_said(check) -> str:
    """The studio's own seam check of a failed edit, for the failure line: where the judge and the check part."""
    if check is None:
        return ""
    return f"; the check: {check.verdict}, heard {check.heard!r}, cuts {check.cuts}, {check.tries} tries"


def run_split(studio: Studio, asr: TranscribePipeline, paths: list[Path], words_per_clip: int, inserts: int,
              noise_snr: float | None = None) -> dict:
    project = studio.projects.list()[0].id
    deleted: dict[str, list[bool]] = {"checked": [], "unchecked": [], "spoken": []}
    spoken: list[bool] = []
    spoken_cleanly: list[bool] = []  # the judge's ceiling: the new words heard when a clean voice says the passage
    clean_inserts: list[bool] = []  # heard, and nothing more beside them
    clicks: list[float] = []
    seconds = {"delete_checked": [], "delete_unchecked": [], "speak": []}
    verdicts: dict[str, int] = {}
    kept_cuts: dict[str, int] = {}  # where checked deletions' kept cuts came from: plan, search, alignment, respoken
    kept_tries: dict[str, int] = {}  # which try of new words was kept ("0": the first), and whether the judge heard it
    truths = exact_transcripts()
    wers: dict[str, list[float]] = {"original": [], "edited": []}

    def score_wer(truth: str | None, result: au.Audio, words: list, i: int, j: int, new: list[str]) -> None:
        reference = edited_reference(truth, words, i, j, new) if truth else None
        heard = asr(result, language="en").text if reference else ""
        value = word_error_rate(reference, heard) if reference else None
        wers["edited"] += [value] if value is not None else []
        if value is not None and value > 0.1:
            print(f"  whole result WER {value:.2f}: expected {reference!r}, heard {heard!r}", file=sys.stderr)

    for path in paths:
        recording = au.load(path)
        if noise_snr is not None:
            recording = with_noise(recording, noise_snr)
        take = studio.takes.import_recording(project, recording)
        transcript = studio.edit.transcript(take.id)
        words = list(transcript.words)
        truth = truths.get(path.stem)
        original = word_error_rate(truth, transcript.text) if truth else None
        wers["original"] += [original] if original is not None else []
        units = [u for u in word_units(words) if normalize_token(join_words([words[k] for k in u]))]
        for unit in [units[k] for k in spread(words_per_clip, len(units))]:
            i, j = unit[0], unit[-1] + 1
            kept = words[:i] + words[j:]
            if not kept:
                continue
            left, right = true_neighbours(truth, words, i, j) or (
                [w.text for w in words[max(0, i - NEIGHBOURS):i]], [w.text for w in words[j:j + NEIGHBOURS]])
            before = [w.text for w in words[max(0, i - len(left) - 1):max(0, i - len(left))]]
            after = [w.text for w in words[j + len(right):j + len(right) + 1]]
            deleted["spoken"].append(spoken_side_by_side(studio, asr, left, right, before, after))
            for mode, check in (("unchecked", False), ("checked", True)):
                started = time.perf_counter()
                outcome = studio.edit.apply(take.id, join_words(kept), check=check)
                seconds[f"delete_{mode}"].append(time.perf_counter() - started)
                edit = outcome.result.edits[0]
                heard = heard_around(asr, outcome.result.audio, edit, words, i, j)
                # the window is wider than the check's: judge only the two words either side
                ok = junction_heard(_around(heard, left, right), left, right) == "clean"
                deleted[mode].append(ok)
                if not ok:
                    print(f"{path.stem[:24]} {mode}: deleting {join_words(words[i:j])!r} between {left} and {right} "
                          f"was heard as {' '.join(heard)!r}{check_said(edit.check)}", file=sys.stderr)
                if check:
                    score_wer(truth, outcome.result.audio, words, i, j, [])
                    verdicts[edit.check.verdict] = verdicts.get(edit.check.verdict, 0) + 1
                    kept_cuts[edit.check.cuts] = kept_cuts.get(edit.check.cuts, 0) + 1
                    clicks += [s for s in [outcome.take.scores.get("worst_seam_click")] if s is not None]
        for k in range(inserts):
            for kind in ("insert", "replace"):
                at = spread(inserts + 2, len(units))[k + 1]
                index = units[at][0]
                new = list(INSERTS[k % len(INSERTS)]) if kind == "insert" else [REPLACEMENTS[k % len(REPLACEMENTS)]]
                rest = words[index:] if kind == "insert" else words[units[at][-1] + 1:]
                text = " ".join([join_words(words[:index]), *new, join_words(rest)]).strip()
                started = time.perf_counter()
                outcome = studio.edit.apply(take.id, text, seed=k)
                seconds["speak"].append(time.perf_counter() - started)
                edit = outcome.result.edits[0]
                end = index if kind == "insert" else units[at][-1] + 1
                heard = heard_around(asr, outcome.result.audio, edit, words, index, end)
                spoken.append(new_words_heard(heard, new))
                spoken_cleanly.append(new_words_spoken(studio, asr, words, index, end, new))
                beside = [w.text for w in words[index - 1:index]], [w.text for w in words[end:end + 1]]
                extra = extra_beside(heard, beside[0], new, beside[1])
                clean_inserts.append(spoken[-1] and not extra)
                if extra:
                    print(f"{path.stem[:24]} {kind}: {' '.join(new)!r} before {join_words(words[end:end + 1])!r} was "
                          f"heard with {' '.join(extra)!r} beside it: {' '.join(heard)!r}", file=sys.stderr)
                moved = "+moved" if edit.check and edit.check.cuts == "moved" else ""
                try_kept = f"{edit.provenance.get('attempt', 0)}{moved}:{'heard' if spoken[-1] else 'not heard'}"
                kept_tries[try_kept] = kept_tries.get(try_kept, 0) + 1
                if not spoken[-1]:
                    print(f"{path.stem[:24]} {kind}: {' '.join(new)!r} before {join_words(words[end:end + 1])!r} was "
                          f"heard as {' '.join(heard)!r}{check_said(edit.check)}", file=sys.stderr)
                score_wer(truth, outcome.result.audio, words, index, end, new)
                clicks += [s for s in [outcome.take.scores.get("worst_seam_click")] if s is not None]
    return {
        "clips": [p.stem for p in paths],
        "deletions": len(deleted["checked"]),
        "deletion_success": _fraction(deleted["checked"]),
        "deletion_success_unchecked": _fraction(deleted["unchecked"]),
        "deletion_success_spoken": _fraction(deleted["spoken"]),
        "deletion_success_where_judge_hears": _fraction(
            [ok for ok, spoken in zip(deleted["checked"], deleted["spoken"]) if spoken]),
        "check_verdicts": verdicts,
        "kept_cuts": kept_cuts,
        "inserts_and_replacements": len(spoken),
        "insert_recognised": _fraction(spoken),
        "insert_clean": _fraction(clean_inserts),
        "insert_recognised_spoken": _fraction(spoken_cleanly),
        "insert_recognised_where_judge_hears": _fraction([ok for ok, c in zip(spoken, spoken_cleanly) if c]),
        "kept_tries": dict(sorted(kept_tries.items())),
        "original_wer": _mean(wers["original"]),
        "edited_wer": _mean(wers["edited"]),
        "wer_delta": (round(mean(wers["edited"]) - mean(wers["original"]), 3)
                      if wers["edited"] and wers["original"] else None),
        "wer_edits": len(wers["edited"]),
        "worst_seam_click": round(max(clicks), 3) if clicks else None,
        "delete_s": round(mean(seconds["delete_checked"]), 3) if seconds["delete_checked"] else None,
        "delete_max_s": round(max(seconds["delete_checked"]), 3) if seconds["delete_checked"] else None,
        "delete_unchecked_s": round(mean(seconds["delete_unchecked"]), 3) if seconds["delete_unchecked"] else None,
        "insert_s": round(mean(seconds["speak"]), 3) if seconds["speak"] else None,
    }


def _around(heard: list[str], left: list[str], right: list[str]) -> list[str]:
    """The heard words from the first of `left` to the last of `right` (the judge's wider window also hears
    the words beyond them, which say nothing about the cut)."""
    norm = [normalize_token(w) for w in heard]
    first = norm.index(normalize_token(left[0])) if left and normalize_token(left[0]) in norm else 0
    last = (len(norm) - 1 - norm[::-1].index(normalize_token(right[-1]))
            if right and normalize_token(right[-1]) in norm else len(norm) - 1)
    return heard[first:last + 1] if first <= last else heard


def _mean(values: list[float]) -> float | None:
    return round(mean(values), 3) if values else None


def _fraction(results: list[bool]) -> float | None:
    return round(sum(results) / len(results), 3) if results else None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", choices=("heldout", "tuning", "both"), default="both")
    parser.add_argument("--clips", type=int, default=4, help="clips per split")
    parser.add_argument("--skip", type=int, default=0, help="clips passed over (another set of the split's clips)")
    parser.add_argument("--words", type=int, default=6, help="single-word deletions per clip")
    parser.add_argument("--inserts", type=int, default=2, help="insertions (and as many replacements) per clip")
    parser.add_argument("--noise-snr", type=float, help="add recorded background noise this many dB under the "
                        "speech to every clip before it is imported (bench/noise.py)")
    args = parser.parse_args()
    wanted = ("heldout", "tuning") if args.split == "both" else (args.split,)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        studio = Studio.open(Settings(data_dir=Path(tmp) / "data"))
        asr = studio.models.get_as(TRANSCRIBER, TranscribePipeline)
        speakers = {"heldout": HELD_OUT, "tuning": TUNING}
        splits = {name: run_split(studio, asr, clips(speakers[name], args.clips, args.skip), args.words,
                                  args.inserts, args.noise_snr)
                  for name in wanted}
        studio.close()
    primary = splits[wanted[0]]
    print(json.dumps({
        "primary_split": wanted[0],
        "noise_snr_db": args.noise_snr,
        "deletion_success": primary["deletion_success"],
        "insert_recognised": primary["insert_recognised"],
        "wer_delta": primary["wer_delta"],
        "splits": splits,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "total_s": round(time.perf_counter() - started, 1),
        "cpus": len(os.sched_getaffinity(0)),
    }))


if __name__ == "__main__":
    main()
