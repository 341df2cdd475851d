"""Speak benchmark: a ~5,000-character text through Retake's Speak use case vs the bare Piper engine.

    .venv/bin/python bench/speak.py [--chars 5000] [--repeats 2] [--gate-seconds 60]

Piper is loaded (and warmed up) before any clock starts; the quality gate is off for the runs compared
with the bare engine, and on for one run of its own.
`rtf`: Retake's wall time / seconds of audio, for `Studio.speak.speak` end to end (planning and text
normalisation, synthesis, trimming and loudness matching, joining, FLAC encoding and storing the speech
take and its attempt takes). `ttfa_s`: time from the call to the first chunk event (what a streaming
player waits). `ratio_vs_bare`: that wall time / calling `PiperSpeak` directly on the same planned
sentences with the same per-chunk seeds, in the same run: the two alternate, fastest of `--repeats` for
each side. `gate_ttfa_s` / `gate_rtf`: the same narration with the gate on (chunks stream as synthesised,
judged on their own thread, failing ones spoken again behind the player), time to the first chunk and wall
time / audio seconds until the take is stored; `gate_chunks_replaced` how many the gate swapped. `gate_s_per_audio_min`: seconds the gate (Resemblyzer + Whisper base) spends
scoring per minute of audio, measured on the first `--gate-seconds` of the narration's chunks.
`peak_rss_mb`: the process's peak resident memory. Prints one JSON object."""
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
import tempfile  # noqa: E402
import time  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from pipelines.narration import NarrationSettings, Narrator, chunk_seed  # noqa: E402
from pipelines.scoring import Scorer  # noqa: E402
from studio.config import Settings  # noqa: E402
from studio.media import TRANSCRIBER  # noqa: E402
from studio.service import Studio  # noqa: E402
from studio.voice_match import ENCODER  # noqa: E402

ENGINE = "piper-joe-embedded"
SEED = 1234
SENTENCES = [
    "The lighthouse keeper climbed the spiral stairs every evening at dusk.",
    "On clear nights, the beam reached ships more than twenty miles away.",
    "He kept a logbook of every vessel that passed, with its name, its flag and the hour.",
    "In winter, storms rolled in from the west and the windows rattled for days.",
    "Still, he said the quiet mornings made up for it: fog on the water, gulls, and a pot of strong coffee.",
    "Nobody remembers exactly when the light was automated, but the logbooks are in the town museum now.",
    "Visitors read them slowly, turning the yellowed pages with gloves on.",
    "Some entries are only a line long; others fill two pages with weather, worries and the price of coal.",
]


def script(chars: int) -> str:
    paragraphs, text, i = [], "", 0
    while len(text) < chars:
        paragraph = " ".join(SENTENCES[(i + k) % len(SENTENCES)] for k in range(4))
        paragraphs.append(paragraph)
        text = "\n\n".join(paragraphs)
        i += 3
    return text


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chars", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--gate-seconds", type=float, default=60.0)
    args = parser.parse_args()
    text = script(args.chars)
    with tempfile.TemporaryDirectory() as tmp:
        studio = Studio.open(Settings(data_dir=Path(tmp) / "data"))
        project = studio.projects.list()[0].id
        piper = studio.models.get(ENGINE)
        piper("Warm up the engine.", seed=1, speaker="joe")
        plan = Narrator(piper, NarrationSettings()).plan(text)

        retake_s, bare_s, ttfa, audio_s, chunks = [], [], [], 0.0, []
        for _ in range(args.repeats):
            # Alternating runs, fastest of each side: the narration runs on its own thread (studio.detached),
            # so a bare call made while reading its events would compete with it for the CPUs.
            events, first = [], None
            started = time.perf_counter()
            for event in studio.speak.speak(project, text, engine_id=ENGINE, seed=SEED, gate=False):
                if first is None:
                    first = time.perf_counter() - started
                events.append(event)
            retake_s.append(time.perf_counter() - started)
            ttfa.append(first)
            started = time.perf_counter()
            for planned in plan:
                piper(planned.spoken, seed=chunk_seed(SEED, planned.index, 0), speaker="joe", speed=1.0)
            bare_s.append(time.perf_counter() - started)
            audio_s = events[-1].take.duration
            chunks = [e.chunk for e in events if e.kind == "chunk"]

        # The gate on, as a listener has it: first audio, and the whole narration judged, retried and stored.
        list(studio.speak.speak(project, "Warm up the gate's models.", engine_id=ENGINE, seed=1, gate=True))
        started, gate_first = time.perf_counter(), None
        replaced = 0
        for event in studio.speak.speak(project, text, engine_id=ENGINE, seed=SEED, gate=True):
            if gate_first is None:
                gate_first = time.perf_counter() - started
            replaced += event.kind == "replaced"
            gated = event
        gate_wall = time.perf_counter() - started
        gate_audio_s = gated.take.duration

        encoder, transcriber = studio.models.get(ENCODER), studio.models.get(TRANSCRIBER)
        reference = encoder(chunks[0].attempts[0].audio)
        scorer = Scorer(encoder, transcriber, reference)
        scored_audio = gate_s = 0.0
        for chunk in chunks:
            if scored_audio >= args.gate_seconds:
                break
            speech = chunk.attempts[chunk.chosen].audio
            started = time.perf_counter()
            scorer.score(speech, chunk.spoken)
            gate_s += time.perf_counter() - started
            scored_audio += speech.duration
        studio.close()

    best, bare = min(retake_s), min(bare_s)
    print(json.dumps({
        "engine": ENGINE,
        "text_chars": len(text),
        "chunks": len(plan),
        "audio_s": round(audio_s, 2),
        "retake_s": round(best, 3),
        "bare_s": round(bare, 3),
        "rtf": round(best / audio_s, 4),
        "ttfa_s": round(min(ttfa), 3),
        "ratio_vs_bare": round(best / bare, 3),
        "gate_ttfa_s": round(gate_first, 3),
        "gate_rtf": round(gate_wall / gate_audio_s, 4),
        "gate_chunks_replaced": replaced,
        "gate_s_per_audio_min": round(gate_s / (scored_audio / 60.0), 2),
        "gate_scored_audio_s": round(scored_audio, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cpus": len(os.sched_getaffinity(0)),
        "load_avg": round(os.getloadavg()[0], 2),
    }))


if __name__ == "__main__":
    main()
