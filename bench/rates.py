"""Natural speaking rates of the offline engines, measured as the quality gate measures them.

    .venv/bin/python bench/rates.py [--seeds 3]

The gate fails a chunk whose words per minute fall outside `QualityThresholds.words_per_minute`. Its
ceiling must sit above what the engines do on their own at speed 1.0, or it fails good chunks (the old
220 failed Piper at its natural 221-229). Here every English transcript of the shared speech data and the
speak benchmark's sentences are narrated (planned, normalised and trimmed exactly as a narration is) by
Piper (`--seeds` seeds: its noise changes durations) and by each Kokoro speaker (deterministic, one take),
and the rate of every chunk the gate would judge (at least `min_words_for_rate` words) is collected.
Prints one JSON object: per engine and over both, the number of chunks, median, p95 and max words/min.
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

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from bench.speak import SENTENCES  # noqa: E402
from pipelines.catalog import Catalog  # noqa: E402
from pipelines.manager import ModelManager  # noqa: E402
from pipelines.narration import NarrationSettings, Narrator  # noqa: E402
from pipelines.scoring import QualityThresholds, wer_words  # noqa: E402

SPEECH_DIR = Path(os.environ.get("RETAKE_SPEECH_DIR", ROOT.parent / "shared" / "data" / "speech"))
ENGINES = ("piper-joe-embedded", "kokoro-82m-embedded")


def texts() -> list[str]:
    """The shared English transcripts (each once) and the benchmark narration's sentences."""
    found: list[str] = []
    manifest = SPEECH_DIR / "manifest.csv"
    if manifest.is_file():
        with open(manifest, newline="") as f:
            for row in csv.DictReader(f):
                text = (row.get("transcript") or "").strip()
                if row.get("language", "en").startswith("en") and text and text not in found:
                    found.append(text)
    return found + [s for s in SENTENCES if s not in found]


def summary(rates: list[float]) -> dict[str, float | int | None]:
    if not rates:
        return {"chunks": 0, "median": None, "p95": None, "max": None}
    return {"chunks": len(rates), "median": round(float(np.median(rates)), 1),
            "p95": round(float(np.percentile(rates, 95)), 1), "max": round(float(max(rates)), 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    minimum = QualityThresholds().min_words_for_rate
    models = ModelManager(Catalog.load())
    corpus = texts()
    rates: dict[str, list[float]] = {}
    for engine_id in ENGINES:
        engine = models.get(engine_id)
        narrator = Narrator(engine, NarrationSettings())  # type: ignore[arg-type]
        seeds = range(args.seeds) if getattr(engine, "seed_dependent", True) else range(1)
        found = rates.setdefault(engine_id, [])
        for speaker in engine.speakers():  # type: ignore[attr-defined]
            for seed in seeds:
                for text in corpus:
                    for chunk in narrator.stream(text, seed=seed, speaker=speaker, speed=1.0):
                        words = len(wer_words(chunk.spoken))
                        if words >= minimum and chunk.speech_s > 0:
                            found.append(words / (chunk.speech_s / 60.0))
    every = [r for found in rates.values() for r in found]
    print(json.dumps({
        "texts": len(corpus),
        "min_words": minimum,
        "ceiling": QualityThresholds().words_per_minute[1],
        **{engine_id: summary(found) for engine_id, found in rates.items()},
        "all": summary(every),
    }))


if __name__ == "__main__":
    main()
