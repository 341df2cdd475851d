"""What a narration script costs through the job queue, from scratch, after a one-line fix, after a killed worker,
and with one vs two worker processes.

    .venv/bin/python bench/projects.py [--segments 50]

A script of `--segments` short generated sentences (one per segment), spoken with the embedded engine (the
studio's default settings: quality gate on), in a temporary data directory, the queue being huey on SQLite there.
Prints one JSON object:
`first_s`: generate all with one worker thread in this process, then render to MP3; `rtf`: first_s / seconds
of rendered audio (`audio_s`); `ratio_vs_bare`: first_s / calling the engine's pipeline directly on the same
sentences in the same run (`bare_s`). `rerender_s` / `rerender_ratio`: one segment's text edited, generated
again (exactly one job queued) and rendered, against first_s. `resume`: `python -m studio scripts generate ID
--workers 1` SIGKILLed when about half the segments have takes, then run again: `done_before_kill`,
`takes_per_segment_max` (1: nothing spoken twice), `resume_s` (the second run, start-up included).
`workers_1_s` / `workers_2_s` / `speedup`: a fresh copy of the script queued with `scripts generate ID
--workers 0` and spoken by 1 or 2 `python -m studio worker --workers 1` processes (warmed up on a short script
first), from the enqueue command's start until every segment is ready. `peak_rss_mb` (this process),
`workers_peak_rss_mb` (the largest child process), `cpus`.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from pipelines import audio as au  # noqa: E402
from studio.config import Settings  # noqa: E402
from studio.scripts import ScriptImport  # noqa: E402
from studio.service import Studio  # noqa: E402
from studio.speak import DEFAULT_ENGINE  # noqa: E402
from tests.processes import stop_processes  # noqa: E402

ENGINE = DEFAULT_ENGINE  # "piper-joe-embedded"
TIMEOUT_S = 1800.0

SUBJECTS = ["The old ferryman", "A tired teacher", "My younger sister", "The night porter", "Our neighbour",
            "The baker on the corner", "A quiet student", "The station master", "Her grandfather",
            "The new gardener", "A travelling musician", "The village doctor"]
VERBS = ["carried", "painted", "found", "repaired", "borrowed", "counted", "packed", "cleaned", "wrapped",
         "planted", "sold", "dropped"]
OBJECTS = ["a basket of apples", "the broken clock", "two wooden chairs", "a bundle of letters", "the blue bicycle",
           "an old map", "a jar of honey", "the last candle", "a pair of boots", "the spare key",
           "a box of seeds", "the heavy kettle"]
PLACES = ["by the river", "near the harbour", "in the back garden", "at the market", "behind the library",
          "on the hill", "across the square", "inside the barn", "under the bridge", "along the canal"]
TIMES = ["before sunrise", "after lunch", "on Sunday morning", "late in the evening", "during the storm",
         "at half past nine", "in early spring", "when the bells rang"]
ENDINGS = ["", "", ", and nobody noticed", ", humming a song", ", then went home", ", just as it began to rain",
           ", without a word", ", smiling to himself"]


def sentences(count: int, seed: int = 15) -> list[str]:
    """`count` different short English sentences (about eight to fourteen words), the same for a given seed."""
    rng = random.Random(seed)
    made: list[str] = []
    seen: set[str] = set()
    while len(made) < count:
        parts = [rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(OBJECTS), rng.choice(PLACES)]
        if rng.random() < 0.6:
            parts.append(rng.choice(TIMES))
        sentence = " ".join(parts) + rng.choice(ENDINGS) + rng.choice([".", ".", ".", "!"])
        if sentence not in seen:
            seen.add(sentence)
            made.append(sentence)
    return made


class Bench:
    """One temporary data directory, the studio over it, and the command line run against the same directory."""

    def __init__(self, data_dir: Path, lines: list[str], gate: bool = True) -> None:
        self.data_dir = data_dir
        self.lines = lines
        self.gate = gate
        self.studio = Studio.open(Settings(data_dir=data_dir, max_audio_seconds=3600))
        self.project = self.studio.projects.list()[0].id
        self.env = {**os.environ, "RETAKE_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1",
                    "RETAKE_APP_WORKERS": "0"}
        self._copies = 0

    def new_script(self, lines: list[str] | None = None) -> int:
        self._copies += 1
        source = "\n\n".join(lines or self.lines)
        return self.studio.scripts.create(ScriptImport(self.project, f"Bench {self._copies}", source,
                                                       gate=self.gate)).id

    def ready(self, script_id: int) -> int:
        return sum(row.state == "ready" for row in self.studio.scripts.status(script_id))

    def wait_ready(self, script_id: int, total: int, procs: list[subprocess.Popen]) -> None:
        deadline = time.monotonic() + TIMEOUT_S
        while self.ready(script_id) < total:
            if time.monotonic() > deadline:
                raise TimeoutError(f"script {script_id}: {self.ready(script_id)}/{total} ready")
            for proc in procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"a worker exited with {proc.returncode}: {_tail(proc)}")
            time.sleep(0.1)

    def cli(self, *args: str, log: str) -> subprocess.Popen:
        """`python -m studio ARGS` against the bench's data directory, its output in a file (never a full pipe)."""
        out = open(self.data_dir.parent / f"{log}.log", "w")
        proc = subprocess.Popen([sys.executable, "-m", "studio", "--project", str(self.project), *args],
                                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        out.close()  # the child has its own copy
        proc.log_path = out.name  # type: ignore[attr-defined]
        return proc

    def takes_per_segment(self, script_id: int) -> list[int]:
        return [len(self.studio.store.segment_takes(row.segment.id)) for row in self.studio.scripts.status(script_id)]


def _tail(proc: subprocess.Popen, chars: int = 2000) -> str:
    return Path(proc.log_path).read_text()[-chars:]  # type: ignore[attr-defined]


def _finish(proc: subprocess.Popen, timeout: float = TIMEOUT_S) -> None:
    if proc.wait(timeout=timeout) != 0:
        raise RuntimeError(f"{proc.args} exited with {proc.returncode}: {_tail(proc)}")


def in_process(bench: Bench) -> dict:
    """From scratch, then one line edited: the app's own worker thread, started once for both."""
    studio, jobs = bench.studio, bench.studio.script_jobs
    # Loaded before any clock starts: the engine, and the gate's models on a throwaway script.
    warm = bench.new_script(["Warm up the engine and its quality gate."])
    jobs.start_workers(1)
    try:
        jobs.wait(jobs.generate_all(warm), timeout=TIMEOUT_S)
        script = bench.new_script()

        started = time.perf_counter()
        outcomes = jobs.wait(jobs.generate_all(script), timeout=TIMEOUT_S)
        rendered = studio.scripts.render(script, fmt="mp3")
        first_s = time.perf_counter() - started
        assert outcomes == ["made"] * len(bench.lines), outcomes
        audio_s = au.load(rendered.data).duration

        rows = studio.scripts.status(script)
        edited = rows[len(rows) // 2].segment
        studio.scripts.edit_segment(edited.id, text="The ferry left the harbour an hour late that night.")
        started = time.perf_counter()
        queued = jobs.generate_all(script)
        assert len(queued) == 1, f"{len(queued)} jobs queued for one edited segment"
        outcomes = jobs.wait(queued, timeout=TIMEOUT_S)
        studio.scripts.render(script, fmt="mp3")
        rerender_s = time.perf_counter() - started
        assert outcomes == ["made"], outcomes
        assert max(bench.takes_per_segment(script)) == 2
    finally:
        jobs.stop_workers()

    piper = studio.models.get(ENGINE)
    started = time.perf_counter()
    for index, line in enumerate(bench.lines):
        piper(line, seed=index)
    bare_s = time.perf_counter() - started
    return {"first_s": first_s, "rerender_s": rerender_s, "audio_s": audio_s, "bare_s": bare_s}


def resume(bench: Bench) -> dict:
    """A generation killed half way (SIGKILL: no clean-up at all), then the same command again."""
    script = bench.new_script()
    total = len(bench.lines)
    proc = bench.cli("scripts", "generate", str(script), "--workers", "1", log="resume-killed")
    deadline = time.monotonic() + TIMEOUT_S
    while bench.ready(script) < max(total // 2, 1):
        if proc.poll() is not None:
            raise RuntimeError(f"the generation ended before it was killed: {_tail(proc)}")
        if time.monotonic() > deadline:
            raise TimeoutError("the first half never came")
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = bench.ready(script)

    started = time.perf_counter()
    _finish(bench.cli("scripts", "generate", str(script), "--workers", "1", log="resume-again"))
    resume_s = time.perf_counter() - started
    assert bench.ready(script) == total, f"{bench.ready(script)}/{total} ready after the second run"
    takes = bench.takes_per_segment(script)
    assert max(takes) == 1, f"a segment was spoken twice: {takes}"
    return {"segments": total, "done_before_kill": done_before, "takes_per_segment_max": max(takes),
            "resume_s": round(resume_s, 3)}


def worker_processes(bench: Bench, count: int) -> float:
    """Seconds for `count` worker processes to speak a fresh copy of the script, queued from the command line."""
    workers = [bench.cli("worker", "--workers", "1", log=f"worker-{count}-{i}") for i in range(count)]
    try:
        warm = bench.new_script(sentences(2 * count, seed=99))  # every worker loads its models off the clock
        bench.studio.script_jobs.generate_all(warm)
        bench.wait_ready(warm, 2 * count, workers)
        script = bench.new_script()
        started = time.perf_counter()
        _finish(bench.cli("scripts", "generate", str(script), "--workers", "0", log=f"enqueue-{count}"))
        bench.wait_ready(script, len(bench.lines), workers)
        seconds = time.perf_counter() - started
        assert max(bench.takes_per_segment(script)) == 1
        return seconds
    finally:
        stop_processes(workers)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--segments", type=int, default=50)
    parser.add_argument("--no-gate", dest="gate", action="store_false",
                        help="scripts without the quality gate (CI: the gate's Whisper dominates a CPU's time)")
    args = parser.parse_args()
    if args.segments < 2:
        parser.error("--segments must be 2 or more")
    lines = sentences(args.segments)
    with tempfile.TemporaryDirectory() as tmp:
        bench = Bench(Path(tmp) / "data", lines, gate=args.gate)
        try:
            timed = in_process(bench)
            resumed = resume(bench)
            one = worker_processes(bench, 1)
            two = worker_processes(bench, 2)
        finally:
            bench.studio.close()

    first_s = timed["first_s"]
    print(json.dumps({
        "engine": ENGINE,
        "segments": args.segments,
        "gate": args.gate,
        "audio_s": round(timed["audio_s"], 2),
        "first_s": round(first_s, 3),
        "rtf": round(first_s / timed["audio_s"], 4),
        "bare_s": round(timed["bare_s"], 3),
        "ratio_vs_bare": round(first_s / timed["bare_s"], 3),
        "rerender_s": round(timed["rerender_s"], 3),
        "rerender_ratio": round(timed["rerender_s"] / first_s, 4),
        "resume": resumed,
        "workers_1_s": round(one, 3),
        "workers_2_s": round(two, 3),
        "speedup": round(one / two, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "workers_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
        "cpus": len(os.sched_getaffinity(0)),
        "load_avg": round(os.getloadavg()[0], 2),
    }))


if __name__ == "__main__":
    main()
