"""Edit benchmark: fixing one word of a 60-second real recording vs re-synthesising all of it.

    .venv/bin/python bench/edit.py [--seconds 60] [--repeats 3]

A ~60 s recording is built from consecutive LJ Speech clips (one real speaker, ../shared/data/speech),
imported as a take and transcribed; the transcript is stored before any clock starts, and Piper (the
embedded engine) and the speaker encoder are loaded and warmed up. Then, fastest of `--repeats`:
- `replace_s`: `Studio.edit.apply` replacing one word in the middle: reading the take, planning, speaking
  the new word in the closest built-in voice, loudness and room-tone matching, splicing, scoring the seams
  and the inserted voice, FLAC encoding and storing the new take with its transcript;
- `full_synthesis_s`: Piper speaking the whole transcript, sentence by sentence, called directly (the
  cost of regenerating globally with the same engine);
- `ratio_replace_vs_full`: the two divided (goal <= 0.10);
- `delete_s`: the same use case deleting one word (no model involved; goal <= 0.1 s);
- `rtf`: replace_s / seconds of recording. `peak_rss_mb`: the process's peak resident memory.
Edits here run without the closed-loop seam check (`check=False`): this measures planning and splicing;
bench/edit_quality.py measures the check (its cost per edit and what it wins).
Prints one JSON object."""
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

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from pipelines import audio as au  # noqa: E402
from pipelines.narration import Narrator  # noqa: E402
from studio.config import Settings  # noqa: E402
from studio.service import Studio  # noqa: E402
from studio.voice_match import ENCODER  # noqa: E402

ENGINE = "piper-joe-embedded"
SPEECH = Path(os.environ.get("RETAKE_SPEECH_DIR", ROOT.parent / "shared" / "data" / "speech"))


def recording(seconds: float) -> au.Audio:
    """Consecutive LJ Speech clips with short pauses, up to `seconds` (one real speaker, read speech)."""
    with open(SPEECH / "manifest.csv", newline="") as f:
        rows = sorted((r for r in csv.DictReader(f) if r["id"].startswith("coqui_lj_")), key=lambda r: r["id"])
    parts: list[au.Audio] = []
    total = 0.0
    for row in rows:
        clip = au.load(SPEECH / row["path"])
        parts += [clip, au.silence(0.4, clip.sample_rate)]
        total += clip.duration + 0.4
        if total >= seconds:
            break
    return au.join(parts[:-1], 0.0)


def replaced(words: list[str], index: int, new: str) -> str:
    return " ".join(words[:index] + [new] + words[index + 1:])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        studio = Studio.open(Settings(data_dir=Path(tmp) / "data"))
        project = studio.projects.list()[0].id
        take = studio.takes.import_recording(project, recording(args.seconds))
        transcript = studio.edit.transcript(take.id)  # stored before the clocks start
        words = transcript.text.split()
        middle = len(words) // 2
        piper = studio.models.get(ENGINE)
        studio.models.get(ENCODER)
        studio.edit.apply(take.id, replaced(words, middle, "harbour"), engine_id=ENGINE, seed=1, check=False)  # warm-up

        replace_s, delete_s, full_s, outcome = [], [], [], None
        for k in range(args.repeats):
            started = time.perf_counter()
            outcome = studio.edit.apply(take.id, replaced(words, middle, "lantern"), engine_id=ENGINE, seed=k,
                                        check=False)
            replace_s.append(time.perf_counter() - started)

            started = time.perf_counter()
            studio.edit.apply(take.id, " ".join(words[:middle] + words[middle + 1:]), check=False)
            delete_s.append(time.perf_counter() - started)

            speaker = outcome.take.parameters["edits"][0]["provenance"].get("speaker")
            options = {"speaker": speaker} if speaker else {}
            started = time.perf_counter()
            for chunk in Narrator(piper).plan(transcript.text):
                piper(chunk.spoken, seed=k, **options)
            full_s.append(time.perf_counter() - started)
        duration = take.duration
        scores = outcome.take.scores
        studio.close()

    best_replace, best_full = min(replace_s), min(full_s)
    print(json.dumps({
        "engine": ENGINE,
        "recording_s": round(duration, 2),
        "words": len(words),
        "replace_s": round(best_replace, 3),
        "full_synthesis_s": round(best_full, 3),
        "ratio_replace_vs_full": round(best_replace / best_full, 4),
        "delete_s": round(min(delete_s), 4),
        "rtf": round(best_replace / duration, 4),
        "worst_seam_click": scores.get("worst_seam_click"),
        "inserted_similarity": scores.get("inserted_similarity"),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cpus": len(os.sched_getaffinity(0)),
        "load_avg": round(os.getloadavg()[0], 2),
    }))


if __name__ == "__main__":
    main()
