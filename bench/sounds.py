"""What placing a sound under narration costs per minute of narration, and generating a sound per engine.

    .venv/bin/python bench/sounds.py [--minutes 1] [--repeats 3]

A narration of real speech (the shared clips joined, about `--minutes` long) with a 6 s noise bed looped under
all of it, ducked 12 dB under speech: the Sounds use case end to end (read both takes, find the speech with
the embedded VAD, mix, store the new take) side by side with the bare work (VAD + `place()` on audio already in
memory), alternating. Then each text-to-audio engine (tiny random models: no such weights download here) making
1 s through the Generate use case and bare (see `generation`). Prints one JSON object: `rtf` (use case seconds
per narration second), `bare_rtf`, `ratio_vs_bare`, `s_per_audio_min`, `mix_only_rtf`, `generation_tiny`
(per engine: `rtf`, `bare_rtf`, `ratio_vs_bare`, `ttfa_s` (a sound is whole before it is heard), `first_call_s`),
`peak_rss_mb`.
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
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from pipelines import audio as au  # noqa: E402
from pipelines.sound.placement import Placement, place  # noqa: E402
from studio.config import Settings  # noqa: E402
from studio.service import Studio  # noqa: E402
from studio.sounds import VAD, PlaceRequest  # noqa: E402

RATE = 16_000


def speech_dir() -> Path:
    return Path(os.environ.get("RETAKE_SPEECH_DIR", ROOT.parent / "shared" / "data" / "speech"))


def narration(minutes: float) -> au.Audio:
    """Clean 16 kHz clips of the shared set joined with half-second pauses, up to `minutes`."""
    folder = speech_dir()
    with open(folder / "manifest.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["category"] not in ("noisy-pair-noisy", "meeting")]
    parts, total = [], 0.0
    pause = np.zeros(RATE // 2, np.float32)
    while total < minutes * 60:
        for row in rows:
            clip = au.resample(au.load(folder / row["path"]), RATE)
            parts += [clip.samples, pause]
            total += clip.duration + 0.5
            if total >= minutes * 60:
                break
    return au.Audio(np.concatenate(parts)[: int(minutes * 60 * RATE)], RATE)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    speech = narration(args.minutes)
    bed = au.Audio((0.05 * np.random.default_rng(0).standard_normal(6 * RATE)).astype(np.float32), RATE)
    placement = Placement(loop=True, duck_db=12.0)
    with tempfile.TemporaryDirectory() as tmp:
        studio = Studio.open(Settings(data_dir=Path(tmp) / "data", max_audio_seconds=3600))
        project = studio.projects.list()[0].id
        take = studio.takes.import_recording(project, (RATE, speech.samples))
        sound = studio.sounds.import_sound(project, (RATE, bed.samples), "hiss")
        vad = studio.models.get(VAD)
        studio.sounds.place(PlaceRequest(project, take.id, sound.id, placement))  # warm-up: loads the VAD
        used, bare, mix_only = [], [], []
        for _ in range(args.repeats):
            started = time.perf_counter()
            studio.sounds.place(PlaceRequest(project, take.id, sound.id, placement))
            used.append(time.perf_counter() - started)
            started = time.perf_counter()
            regions = vad(speech)
            mixed_at = time.perf_counter()
            place(speech, bed, regions, placement)
            bare.append(time.perf_counter() - started)
            mix_only.append(time.perf_counter() - mixed_at)
        studio.close()
    seconds = speech.duration
    use_case, direct = statistics.median(used), statistics.median(bare)
    print(json.dumps({
        "audio_s": round(seconds, 1), "repeats": args.repeats,
        "rtf": round(use_case / seconds, 5), "bare_rtf": round(direct / seconds, 5),
        "ratio_vs_bare": round(use_case / direct, 3), "s_per_audio_min": round(use_case / seconds * 60, 3),
        "mix_only_rtf": round(statistics.median(mix_only) / seconds, 5),
        "generation_tiny": generation(args.repeats),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cpus": len(os.sched_getaffinity(0)), "load_avg": round(os.getloadavg()[0], 2),
    }))


def generation(repeats: int) -> dict[str, dict[str, float]]:
    """Each catalog text-to-audio engine, tiny and random (no weights download here), making 1 s with 4 steps:
    the Generate use case (load from the Hub cache, one candidate, ranking skipped, stored as a take) side by side
    with the bare engine call on the same request, alternating. These figures are the studio's overhead around
    an engine, not the real models' speed (those need their weights, and a GPU)."""
    from pipelines.catalog import Catalog
    from pipelines.manager import ModelManager
    from pipelines.sound import SoundPipeline
    from storage import Store
    from studio.sound_generation import SoundRequest
    from tests.tiny import all_builders
    from tests.tiny.hub_cache import install_in_hub_cache

    catalog, builders = Catalog.load(), all_builders()[0]
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        engines = catalog.for_task("sound")
        for engine in engines:
            install_in_hub_cache(root / "hub", engine.hub_repo, engine.revision, builders[engine.id](root / engine.id))
        settings = Settings(data_dir=root / "data", max_audio_seconds=600)
        settings.data_dir.mkdir(parents=True)
        studio = Studio(Store.open(settings.data_dir), settings,
                        models=ModelManager(catalog, cache_dir=root / "hub", device="cpu", memory_budget_mb=100_000))
        project = studio.projects.list()[0].id
        for engine in engines:
            request = SoundRequest(project, "rain on a tin roof", engine.id, seconds=1.0, seed=1, steps=4)
            started = time.perf_counter()
            studio.sound_generation.generate(request)  # first call: loads the engine
            first = time.perf_counter() - started
            bare_engine = studio.models.get(engine.id)
            assert isinstance(bare_engine, SoundPipeline)
            used, bare = [], []
            for _ in range(repeats):
                started = time.perf_counter()
                studio.sound_generation.generate(request)
                used.append(time.perf_counter() - started)
                started = time.perf_counter()
                bare_engine("rain on a tin roof", seconds=1.0, seed=1, steps=4)
                bare.append(time.perf_counter() - started)
            use_case, direct = statistics.median(used), statistics.median(bare)
            figures[engine.id] = {"rtf": round(use_case / 1.0, 4), "bare_rtf": round(direct / 1.0, 4),
                                  "ratio_vs_bare": round(use_case / direct, 3), "ttfa_s": round(use_case, 3),
                                  "first_call_s": round(first, 3)}
        studio.close()
    return figures


if __name__ == "__main__":
    main()
