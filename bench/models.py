"""Load time and resident memory of each engine, each measured in a fresh process so numbers don't mix.

Embedded engines load their real weights; Hub engines load tiny random models of the same classes from a
temporary Hugging Face cache (the Hub is unreachable here), so their numbers show the wrapper's overhead,
not the real checkpoint's. Prints one JSON object.
    .venv/bin/python bench/models.py [engine-id ...]
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_one(engine_id: str) -> dict:
    """Runs inside the child process."""
    from pipelines.catalog import Catalog
    from pipelines.manager import ModelManager
    from tests.tiny import all_builders
    from tests.tiny.hub_cache import install_in_hub_cache

    engine = Catalog.load().get(engine_id)
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "hub"
        if not engine.embedded:
            builders, components = all_builders()
            install_in_hub_cache(cache, engine.hub_repo, engine.revision, builders[engine.id](Path(tmp) / "m"))
            for c in engine.components:
                install_in_hub_cache(cache, c.repo, c.revision, components[engine.id][c.name](Path(tmp) / c.name))
        engine.load_class()  # import the module first: its libraries' import cost is not the load's
        manager = ModelManager(Catalog([engine]), cache_dir=cache)
        before = rss_mb()
        started = time.perf_counter()
        pipeline = manager.get(engine.id)
        load_s = time.perf_counter() - started
        return {"kind": "embedded" if engine.embedded else "tiny-hub", "load_s": round(load_s, 3),
                "rss_delta_mb": round(rss_mb() - before, 1), "reported_mb": round(pipeline.memory_bytes() / 2**20, 1),
                "peak_rss_mb": round(peak_rss_mb(), 1)}


def main(argv: list[str]) -> None:
    if argv[:1] == ["--one"]:
        print(json.dumps(measure_one(argv[1])))
        return
    from pipelines.catalog import Catalog

    ids = argv or [e.id for e in Catalog.load()]
    results = {}
    for engine_id in ids:
        out = subprocess.run([sys.executable, __file__, "--one", engine_id], capture_output=True, text=True,
                             cwd=ROOT)
        try:
            results[engine_id] = json.loads(out.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            results[engine_id] = {"error": (out.stderr.strip().splitlines() or ["no output"])[-1][:300]}
    print(json.dumps({"engines": results}, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
