"""Text and file speed benchmark: the timings the unit tests used to assert (a wall clock on a shared CI machine
says more about its neighbours than about the code, so the tests now count work instead). Prints one JSON
object with the median of `--repeats` runs and whether each met its goal.

    .venv/bin/python bench/text.py [--repeats N]

Goals (the old test limits): language check of 100,000 characters <= 0.5 s, normalising 1,000 sentences
<= 5 s, splitting a 100,000-character script <= 2 s, loading a 10 s 48 kHz WAV <= 0.25 s."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from pipelines.audio import load  # noqa: E402
from pipelines.languages import detect_language  # noqa: E402
from pipelines.narration import split  # noqa: E402
from pipelines.textnorm import normalize  # noqa: E402

SENTENCE = "On March 3, 2024 at 3:30 pm Dr. Smith paid $5.50 (12% more than in 1999). "
GOALS_S = {"detect_language_100k_s": 0.5, "normalize_1000_sentences_s": 5.0, "split_100k_s": 2.0,
           "load_10s_wav_s": 0.25}


def median_s(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of `fn` after one warm-up call."""
    fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return round(statistics.median(samples), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    english = "The quick brown fox jumps over the lazy dog while the studio records another take. "
    chapter = (english * (100_000 // len(english) + 1))[:100_000]
    script = ((SENTENCE + "\n\n") * (100_000 // len(SENTENCE) + 1))[:100_000]
    with tempfile.TemporaryDirectory(prefix="retake-bench-") as tmp:
        wav = Path(tmp) / "ten.wav"
        t = np.arange(10 * 48000) / 48000
        sf.write(wav, (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 48000, subtype="PCM_16")
        result = {
            "detect_language_100k_s": median_s(lambda: detect_language(chapter), args.repeats),
            "normalize_1000_sentences_s": median_s(lambda: normalize(SENTENCE * 1000), args.repeats),
            "split_100k_s": median_s(lambda: split(script, 200), args.repeats),
            "load_10s_wav_s": median_s(lambda: load(wav), args.repeats),
        }
    result["goals_met"] = all(result[key] <= goal for key, goal in GOALS_S.items())
    print(json.dumps(result))


if __name__ == "__main__":
    main()
