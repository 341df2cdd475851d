"""Enhancement benchmark: 60 s of real noisy speech through each embedded engine, wrapper vs bare C loop.

    .venv/bin/python bench/enhance.py [--seconds 60] [--repeats 3] [--snr 5]

The wrapper gets 16 kHz audio (as a user's recording would arrive) and so pays for soxr in and out,
block handling and delay compensation; the bare loop calls the native library directly, one C call
per 480-sample hop, on the same audio already resampled to 48 kHz (and, for RNNoise, already scaled
to 16-bit values) before the clock starts.

How they are compared: on a shared 2-core machine other processes change the speed of identical runs
by +-30 % from one second to the next, which swamps a 10 % difference between two runs made a minute
apart. So each repeat interleaves the two second by second: one block of the wrapper's `stream()`
(1 s of audio), then the bare loop over the same second, and so on; each side's clock runs only
during its own turns. `rtf` and `bare_rtf` are the fastest of `--repeats` such paired runs, and
`ratio_vs_bare` the median over them of wrapper time / bare time within a run. `call_rtf` times the plain `engine(audio)` call on its own (fastest of `--repeats`), and
`overhead_rtf` times the wrapper's own work alone (the same block streaming with a do-nothing engine:
resampling, buffers, delay handling, assembling the output), which does not depend on the engine.
Neither side includes building a fresh libDF state (~0.3 s, once per call): the wrapper builds the next
one in the background after each call and the bench waits for it, as a user listening would.
`load_avg` says how busy the machine was. Prints one JSON object:
{"deepfilternet3": {"rtf", "bare_rtf", "ratio_vs_bare", "call_rtf"}, "rnnoise": {...},
"overhead_rtf", "audio_s", "peak_rss_mb", ...}.

Goals: DeepFilterNet3 RTF <= 0.1 on a 2-core CPU; wrapper <= 1.1x the bare loop."""
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
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402

from pipelines.audio import Audio, load, resample  # noqa: E402
from pipelines.enhance.deepfilternet import DeepFilterNet3Enhance  # noqa: E402
from pipelines.enhance.framing import collect, stream_frames  # noqa: E402
from pipelines.enhance.rnnoise import RNNoiseEnhance  # noqa: E402

from bench.noise import with_noise  # noqa: E402

DATA = Path(os.environ.get("RETAKE_SPEECH_DIR", ROOT.parent / "shared" / "data" / "speech"))
RATE = 16000
HOP = 480
HOPS_PER_BLOCK = 100  # one second at 48 kHz, matching the wrapper's 1 s blocks

Engine = DeepFilterNet3Enhance | RNNoiseEnhance


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)


def noisy_speech(seconds: float, snr_db: float) -> Audio:
    """LibriSpeech/VCTK clips from the shared data, looped to `seconds`, plus real background noise
    (Koala's recording, looped) at `snr_db` over the active speech."""
    with open(DATA / "manifest.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["id"].startswith(("resemblyzer_ls_", "denoiser_clean_"))]
    clips = [resample(load(DATA / r["path"]), RATE).samples for r in rows]
    return with_noise(Audio(np.resize(np.concatenate(clips), int(seconds * RATE)), RATE), snr_db)


class BareDeepFilterNet:
    """libDF called directly: a fresh state (built off the clock), one C call per hop."""

    def __init__(self, engine: DeepFilterNet3Enhance, x48: np.ndarray):
        self.lib, self.x = engine.lib, x48
        self.out = np.empty_like(x48)
        self.state = self.lib.df_create(str(engine.model_file).encode(), 100.0, None)

    def run(self, first: int, last: int) -> None:
        frame, state, src, dst = self.lib.df_process_frame, self.state, self.x.ctypes.data, self.out.ctypes.data
        for offset in range(first * HOP * 4, last * HOP * 4, HOP * 4):
            frame(state, src + offset, dst + offset)

    def close(self) -> None:
        self.lib.df_free(self.state)


class BareRNNoise:
    """RNNoise called directly, in place on input pre-scaled to 16-bit values off the clock."""

    def __init__(self, engine: RNNoiseEnhance, x48: np.ndarray):
        self.lib = engine.lib
        self.buf = x48 * np.float32(32768.0)
        self.state = self.lib.rnnoise_create(None)

    def run(self, first: int, last: int) -> None:
        frame, state, address = self.lib.rnnoise_process_frame, self.state, self.buf.ctypes.data
        for offset in range(first * HOP * 4, last * HOP * 4, HOP * 4):
            frame(state, address + offset, address + offset)

    def close(self) -> None:
        self.lib.rnnoise_destroy(self.state)


def ready(engine: Engine) -> None:
    if isinstance(engine, DeepFilterNet3Enhance):
        engine.pool.wait_ready()  # its next fresh state is built in the background between calls


def paired_run(engine: Engine, make_bare: Callable[[], BareDeepFilterNet | BareRNNoise],
               audio: Audio, hops: int) -> tuple[float, float]:
    """(wrapper seconds, bare seconds) over the same audio, taking turns one second at a time."""
    ready(engine)
    bare = make_bare()
    wrapped = bared = 0.0
    done = 0
    blocks = engine.stream(audio, block_seconds=1.0)
    try:
        while True:
            start = time.perf_counter()
            block = next(blocks, None)
            wrapped += time.perf_counter() - start
            if block is None:
                break
            upto = min(hops, done + HOPS_PER_BLOCK)
            start = time.perf_counter()
            bare.run(done, upto)
            bared += time.perf_counter() - start
            done = upto
        start = time.perf_counter()
        bare.run(done, hops)
        bared += time.perf_counter() - start
    finally:
        bare.close()
    return wrapped, bared


def call_seconds(engine: Engine, audio: Audio) -> float:
    ready(engine)
    start = time.perf_counter()
    out = engine(audio)
    elapsed = time.perf_counter() - start
    assert out.num_samples == audio.num_samples and out.sample_rate == audio.sample_rate
    return elapsed


def wrapper_overhead(audio: Audio, repeats: int) -> float:
    """Seconds the wrapper spends around the engine: stream_frames with an engine that does nothing."""

    def nothing(inp: np.ndarray, out: np.ndarray) -> None:
        pass

    best = float("inf")
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        collect(stream_frames(audio, engine_rate=48000, hop=HOP, delay=1440, process=nothing), audio)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--snr", type=float, default=5.0)
    args = parser.parse_args()
    repeats = max(1, args.repeats)

    audio = noisy_speech(args.seconds, args.snr)
    x48 = resample(audio, 48000).samples
    hops = x48.size // HOP
    x48 = np.ascontiguousarray(x48[: hops * HOP])
    dfn, rnn = DeepFilterNet3Enhance.from_pretrained(None), RNNoiseEnhance.from_pretrained(None)
    setups: dict[str, tuple[Engine, Callable[[], BareDeepFilterNet | BareRNNoise]]] = {
        "deepfilternet3": (dfn, lambda: BareDeepFilterNet(dfn, x48)),
        "rnnoise": (rnn, lambda: BareRNNoise(rnn, x48)),
    }
    result: dict[str, object] = {}
    for name, (engine, make_bare) in setups.items():
        pairs = [paired_run(engine, make_bare, audio, hops) for _ in range(repeats)]
        wrapped, bared = min(p[0] for p in pairs), min(p[1] for p in pairs)
        ratio = statistics.median(p[0] / p[1] for p in pairs)
        call = min(call_seconds(engine, audio) for _ in range(repeats))
        result[name] = {"rtf": round(wrapped / audio.duration, 4), "bare_rtf": round(bared / audio.duration, 4),
                        "ratio_vs_bare": round(ratio, 3), "call_rtf": round(call / audio.duration, 4)}
    dfn.close()
    result["overhead_rtf"] = round(wrapper_overhead(audio, repeats) / audio.duration, 5)
    result["audio_s"] = round(audio.duration, 1)
    result["input_rate"] = RATE
    result["repeats"] = repeats
    result["peak_rss_mb"] = peak_rss_mb()
    result["load_avg"] = round(os.getloadavg()[0], 2)
    result["cpus"] = os.cpu_count()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
