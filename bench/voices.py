"""Scores on real reference clips: how close the offline built-in voices come to real speakers, and how well
they then speak.

    .venv/bin/python bench/voices.py [--engines piper-joe-embedded,kokoro-82m-embedded] [--max-clips 3]

For each distinct real speaker in the shared speech set (`../shared/data/speech/manifest.csv`; noisy copies
and multi-speaker meeting recordings left out) a voice is made from up to `--max-clips` of their clips (about
20 s at most), the closest built-in speaker of each offline fixed-voice engine is found (Resemblyzer
similarity of a probe sentence to the voice: what the Speak tab shows as "closest built-in voice, not a
clone"), and two sentences are spoken with the best match (unmatched: `bench/convert.py` measures the voice
matcher) and the quality gate on (a fixed voice sounds the
same whichever real speaker it was picked for, so each built-in speaker narrates once and speakers matched
to the same one share that narration). Reported per speaker:
`match_similarity` (built-in voice vs the real speaker), the narration's `similarity_mean` (each chunk vs the
built-in speaker's own probe: is it still that voice), `wer_mean` (Whisper base vs the script) and
`words_per_minute`. Prints one JSON object.
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
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from studio.config import Settings  # noqa: E402
from studio.service import Studio  # noqa: E402
from studio.voices import ClipInput  # noqa: E402

ENGINES = ("piper-joe-embedded", "kokoro-82m-embedded")
SCRIPT = ("The lighthouse keeper climbed the spiral stairs every evening at dusk. "
          "On clear nights, the beam reached ships more than twenty miles away.")
SEED = 2024
MAX_REFERENCE_S = 20.0
SKIP_CATEGORIES = ("noisy-pair-noisy", "meeting")  # noisy copies of clean clips; several people talking


def speech_dir() -> Path:
    return Path(os.environ.get("RETAKE_SPEECH_DIR", ROOT.parent / "shared" / "data" / "speech"))


def speakers(folder: Path, max_clips: int) -> dict[str, list[dict[str, str]]]:
    """Clips per real speaker, longest first, up to `max_clips` and about MAX_REFERENCE_S seconds."""
    with open(folder / "manifest.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["category"] not in SKIP_CATEGORIES
                and r.get("language", "en") == "en"]
    grouped: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: -float(r["seconds"])):
        chosen = grouped[row["speaker"]]
        total = sum(float(r["seconds"]) for r in chosen)
        if len(chosen) < max_clips and (not chosen or total + float(row["seconds"]) <= MAX_REFERENCE_S):
            chosen.append(row)
    return dict(grouped)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--max-clips", type=int, default=3)
    args = parser.parse_args()
    folder = speech_dir()
    started = time.perf_counter()
    results, narrations = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        studio = Studio.open(Settings(data_dir=Path(tmp) / "data"))
        project = studio.projects.list()[0].id
        engines = [e for e in args.engines.split(",") if studio.models.catalog.get(e).package_installed()]
        for speaker, clips in speakers(folder, args.max_clips).items():
            inputs = [ClipInput(folder / c["path"], c["transcript"] if c["transcript_kind"] == "exact" else None,
                                name=c["id"]) for c in clips]
            voice = studio.voices.create(project, speaker, inputs, consent=True)
            prompt = studio.voice_match.prompt(voice.id)
            matches = {e: studio.voice_match.closest_speaker(e, prompt) for e in engines}
            engine = max(matches, key=lambda e: matches[e].similarity)
            key = (engine, matches[engine].speaker)
            if key not in narrations:
                done = list(studio.speak.speak(project, SCRIPT, voice_id=voice.id, engine_id=engine, seed=SEED,
                                                  gate=True, match_voice=False))[-1]
                assert done.match is not None and done.match.speaker == key[1]
                narrations[key] = done.take.scores
            scores = narrations[key]
            results.append({
                "speaker": speaker,
                "clips": len(clips),
                "reference_s": round(sum(c.duration for c in studio.voices.get(voice.id).clips), 2),
                "closest": {e: {"speaker": m.speaker, "similarity": m.similarity} for e, m in matches.items()},
                "engine": engine,
                "match_similarity": matches[engine].similarity,
                "similarity_mean": _round(scores["similarity_mean"]),
                "wer_mean": _round(scores["wer_mean"]),
                "words_per_minute": _round(scores["words_per_minute"], 1),
                "chunks_failed": scores["chunks_failed"],
                "attempts": scores["attempts"],
            })
        studio.close()
    matched = [r["match_similarity"] for r in results]
    wers = [r["wer_mean"] for r in results if r["wer_mean"] is not None]
    print(json.dumps({
        "script": SCRIPT,
        "engines": engines,
        "speakers": results,
        "narrations": len(narrations),
        "match_similarity_mean": _round(sum(matched) / len(matched)) if matched else None,
        "match_similarity_range": [min(matched), max(matched)] if matched else None,
        "wer_mean": _round(sum(wers) / len(wers)) if wers else None,
        "seconds": round(time.perf_counter() - started, 1),
        "cpus": len(os.sched_getaffinity(0)),
        "load_avg": round(os.getloadavg()[0], 2),
    }))


def _round(value, digits: int = 3):
    return None if value is None else round(float(value), digits)


if __name__ == "__main__":
    main()
