"""Watermark benchmark: what marking every synthetic take costs and how well the mark is found (issue #16).

    .venv/bin/python bench/watermark.py [--score-clips 8] [--clips N]

Over every clip of the shared speech set (`../shared/data/speech`, its manifest; RETAKE_SPEECH_DIR): marks it
with PerthNet (`pipelines.watermark`) and reads the detector's confidence on the clip as recorded, marked, and
both after an MP3 round trip (`pipelines.audio.encode(..., "mp3")` then `load`, what a download does).
On the first `--score-clips` English clips with exact transcripts, scores the clip and the marked clip the way
the quality gate does (`pipelines.scoring.Scorer`: the embedded Whisper for WER, Resemblyzer for similarity to
another clip of the same speaker) and reports the differences.

Prints one JSON object: `rtf` (seconds marking / seconds of audio, model already loaded), `load_s`, `threshold`,
`detection` ({marked, unmarked, marked_mp3, unmarked_mp3}: share of clips read as marked, plus min/max
confidences), `scores` (mean and worst |delta| of WER and similarity), `clips`, `audio_s`, `peak_rss_mb`."""
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
import time  # noqa: E402

import numpy as np  # noqa: E402

from pipelines import audio as au  # noqa: E402
from pipelines.watermark import THRESHOLD, Watermarker  # noqa: E402

DATA = Path(os.environ.get("RETAKE_SPEECH_DIR", ROOT.parent / "shared" / "data" / "speech"))


def manifest() -> list[dict[str, str]]:
    with open(DATA / "manifest.csv", newline="") as f:
        return [row for row in csv.DictReader(f) if (DATA / row["path"]).exists()]


def mp3(audio: au.Audio) -> au.Audio:
    return au.load(au.encode(audio, "mp3"), max_seconds=None, allow_silent=True)


def summary(values: list[float]) -> dict[str, float]:
    """Share read as marked, and the spread of confidences."""
    arr = np.asarray(values)
    return {"rate": round(float(np.mean(arr >= THRESHOLD)), 3), "min": round(float(arr.min()), 3),
            "mean": round(float(arr.mean()), 3), "max": round(float(arr.max()), 3)}


def score_deltas(rows: list[dict[str, str]], clips: dict[str, tuple[au.Audio, au.Audio]], count: int) -> dict:
    """The gate's measures on the clip and on the marked clip: how far marking moves them."""
    from pipelines.catalog import Catalog
    from pipelines.manager import ModelManager
    from pipelines.scoring import Scorer
    from studio.media import TRANSCRIBER
    from studio.voice_match import ENCODER

    models = ModelManager(Catalog.load())
    encoder, transcriber = models.get(ENCODER), models.get(TRANSCRIBER)
    scorer = Scorer(encoder, transcriber)  # type: ignore[arg-type]
    chosen = [r for r in rows if r["language"] == "en" and r["transcript_kind"] == "exact"
              and float(r["seconds"]) >= 2.0][:count]
    wer, sim, per_clip = [], [], []
    for row in chosen:
        original, marked = clips[row["id"]]
        others = [r for r in rows if r["speaker"] == row["speaker"] and r["id"] != row["id"]
                  and r["category"] == row["category"]]
        reference = encoder(clips[others[0]["id"]][0]) if others else None  # type: ignore[operator]
        before = scorer.score(original, row["transcript"], reference)
        after = scorer.score(marked, row["transcript"], reference)
        item = {"id": row["id"], "wer": [before.wer, after.wer],
                "similarity": [before.speaker_similarity, after.speaker_similarity]}
        per_clip.append(item)
        if before.wer is not None and after.wer is not None:
            wer.append(after.wer - before.wer)
        if before.speaker_similarity is not None and after.speaker_similarity is not None:
            sim.append(after.speaker_similarity - before.speaker_similarity)

    def spread(d: list[float]) -> dict:
        return {"mean": round(float(np.mean(d)), 4), "worst_abs": round(float(np.max(np.abs(d))), 4),
                "n": len(d)} if d else {"n": 0}
    return {"wer_delta": spread(wer), "similarity_delta": spread(sim), "clips": per_clip}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--score-clips", type=int, default=8)
    parser.add_argument("--clips", type=int, help="only the first N clips of the manifest (CI: a reduced run)")
    args = parser.parse_args()
    rows = manifest()[: args.clips] if args.clips else manifest()
    marker = Watermarker()
    started = time.perf_counter()
    marker.model
    load_s = time.perf_counter() - started
    marking_s = audio_s = 0.0
    found: dict[str, list[float]] = {"marked": [], "unmarked": [], "marked_mp3": [], "unmarked_mp3": []}
    clips: dict[str, tuple[au.Audio, au.Audio]] = {}
    for row in rows:
        original = au.load((DATA / row["path"]).read_bytes(), max_seconds=None, allow_silent=True)
        started = time.perf_counter()
        marked = marker.mark(original)
        marking_s += time.perf_counter() - started
        audio_s += original.duration
        clips[row["id"]] = (original, marked)
        found["unmarked"].append(marker.detect(original))
        found["marked"].append(marker.detect(marked))
        found["unmarked_mp3"].append(marker.detect(mp3(original)))
        found["marked_mp3"].append(marker.detect(mp3(marked)))
    result = {
        "rtf": round(marking_s / audio_s, 4), "load_s": round(load_s, 2), "threshold": THRESHOLD,
        "detection": {k: summary(v) for k, v in found.items()},
        "missed": [r["id"] for r, v in zip(rows, found["marked_mp3"]) if v < THRESHOLD],
        "false_alarms": [r["id"] for r, v in zip(rows, found["unmarked"]) if v >= THRESHOLD],
        "scores": score_deltas(rows, clips, args.score_clips) if args.score_clips else None,
        "clips": len(rows), "audio_s": round(audio_s, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
