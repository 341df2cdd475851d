"""Storage benchmark: 10,000 takes in a temporary SQLite store, then the listing and counting
queries the studio's history panel runs. Prints one JSON object.

    .venv/bin/python bench/store.py [--takes N] [--voices N] [--repeats N]

Goal: a page of 50 newest takes out of 10,000 in <= 50 ms."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from datetime import UTC, datetime  # noqa: E402

from storage import Consent, NewClip, NewTake, Store  # noqa: E402

GOAL_LIST_PAGE_MS = 50.0


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of `fn` after one warm-up call (caches and pools primed)."""
    fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000.0)
    return round(statistics.median(samples), 3)


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--takes", type=int, default=10_000)
    parser.add_argument("--voices", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=25)
    args = parser.parse_args()

    consent = Consent("Benchmark speaker agreed.", "bench", datetime.now(UTC))
    with tempfile.TemporaryDirectory(prefix="retake-bench-") as tmp, Store.open(Path(tmp)) as store:
        project = store.create_project("Bench")
        voices = [
            store.create_voice(project.id, f"Voice {v:02d}", "en",
                               [NewClip(os.urandom(2048), 24000, 3.0, "reference")], consent)
            for v in range(args.voices)
        ]
        ids: list[int] = []
        start = time.perf_counter()
        for i in range(args.takes):
            take = store.add_take(project.id, NewTake(
                kind="tts" if i % 4 else "edit",
                audio=os.urandom(2048),
                sample_rate=24000,
                duration=1.0,
                text=f"Sentence number {i}.",
                voice_id=voices[i % len(voices)].id,
                engine_id="bench",
                parameters={"speed": 1.0},
                seed=i,
                scores={"wer": 0.0},
            ))
            ids.append(take.id)
        insert_s = time.perf_counter() - start
        start = time.perf_counter()
        for take_id in ids[::10]:
            store.set_starred(take_id, True)
        star_s = time.perf_counter() - start
        middle_id = ids[len(ids) // 2]

        pid, vid, n = project.id, voices[3].id, args.repeats
        deep = min(5000, max(args.takes - 50, 0))
        assert len(store.list_takes(pid)) == min(50, args.takes)
        result = {
            "takes": store.count_takes(pid),
            "voices": len(voices),
            "insert_s": round(insert_s, 3),
            "insert_per_take_ms": round(insert_s * 1000.0 / args.takes, 3),
            "star_per_take_ms": round(star_s * 1000.0 / len(ids[::10]), 3),
            "list_page_ms": median_ms(lambda: store.list_takes(pid, limit=50), n),
            "list_deep_page_ms": median_ms(lambda: store.list_takes(pid, limit=50, offset=deep), n),
            "filter_voice_ms": median_ms(lambda: store.list_takes(pid, voice_id=vid, limit=50), n),
            "filter_starred_ms": median_ms(lambda: store.list_takes(pid, starred=True, limit=50), n),
            "filter_kind_ms": median_ms(lambda: store.list_takes(pid, kind="edit", limit=50), n),
            "count_ms": median_ms(lambda: store.count_takes(pid), n),
            "count_voice_ms": median_ms(lambda: store.count_takes(pid, voice_id=vid), n),
            "count_starred_ms": median_ms(lambda: store.count_takes(pid, starred=True), n),
            "get_take_ms": median_ms(lambda: store.get_take(middle_id), n),
            "list_voices_ms": median_ms(lambda: store.list_voices(pid), n),
            "collect_garbage_s": round(_timed(lambda: store.collect_garbage(grace_seconds=3600)), 3),
            "db_mb": round((Path(tmp) / "retake.db").stat().st_size / 1e6, 2),
            "repeats": n,
            "peak_rss_mb": peak_rss_mb(),
        }
        result["list_page_goal_ms"] = GOAL_LIST_PAGE_MS
        result["list_page_ok"] = result["list_page_ms"] <= GOAL_LIST_PAGE_MS
    print(json.dumps(result))


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
