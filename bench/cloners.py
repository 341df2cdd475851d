"""What Retake's cloner adapters cost over calling each model the documented way, side by side in one run.

    .venv/bin/python bench/cloners.py [--repeats 3]

No cloning weights can be downloaded here, so each cloner is a tiny random model of the real classes (the test
builders); the figures are the adapter's overhead (reference fitting, resampling, silence trimming, chunking,
checks), not the real model's speed. For each engine and repeat, the same seed and text are spoken by the
adapter and by the bare recipe (the model's processor and `generate` as its docs show, from the same
reference), alternating. Prints one JSON object: per engine `adapter_s`, `bare_s` (medians), `ratio_vs_bare`,
and the process's `peak_rss_mb`.
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
import resource  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from pipelines.audio import load, resample, trim_silence  # noqa: E402
from pipelines.base import VoicePrompt, seeded_rng  # noqa: E402

TEXT = "The lighthouse keeper climbed the stairs."
CLIP, WORDS = "denoiser_clean_p287_002", "Ask her to bring these things with her from the store."


def speech_dir() -> Path:
    return Path(os.environ.get("RETAKE_SPEECH_DIR", ROOT.parent / "shared" / "data" / "speech"))


def engines(root: Path) -> dict:
    """engine id -> (adapter, bare call(reference 1-D samples at the engine's rate) -> audio)."""
    from pipelines.speak.csm import CsmSpeak
    from pipelines.speak.dia import DiaSpeak
    from pipelines.speak.pocket_tts import PocketTTSSpeak
    from pipelines.speak.vibevoice import VibeVoiceSpeak
    from tests.tiny.csm import BUILDERS as CSM
    from tests.tiny.dia import BUILDERS as DIA
    from tests.tiny.dia import COMPONENTS as DAC
    from tests.tiny.pocket_tts import BUILDERS as POCKET
    from tests.tiny.pocket_tts import COMPONENTS as POCKET_CODEC
    from tests.tiny.vibevoice import BUILDERS as VIBE

    pocket = PocketTTSSpeak.from_pretrained(POCKET["pocket-tts"](root / "pocket"), audio_tokenizer_path=POCKET_CODEC[
        "pocket-tts"]["audio_tokenizer_path"](root / "pocket_codec"))
    csm = CsmSpeak.from_pretrained(CSM["csm-1b"](root / "csm"))
    dia = DiaSpeak.from_pretrained(DIA["dia-1.6b"](root / "dia"),
                                   audio_tokenizer_path=DAC["dia-1.6b"]["audio_tokenizer_path"](root / "dac"))
    vibe = VibeVoiceSpeak.from_pretrained(VIBE["vibevoice-1.5b"](root / "vibevoice"))

    def bare_pocket(ref: np.ndarray):
        p = pocket.processor
        conversation = [{"role": "user", "content": [{"type": "audio", "audio": "v"}, {"type": "text", "text": TEXT}]}]
        prompt = p.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True)
        out = pocket.model.generate(**p(text=prompt, audio=[ref], return_tensors="pt"), do_sample=True,
                                    temperature=0.7, return_dict_in_generate=True)
        return p.decode(out.audio_latents, out.audio_latents_mask)[0]

    def bare_csm(ref: np.ndarray):
        conversation = [{"role": "0", "content": [{"type": "text", "text": WORDS}, {"type": "audio", "path": ref}]},
                        {"role": "0", "content": [{"type": "text", "text": TEXT}]}]
        inputs = csm.processor.apply_chat_template(conversation, tokenize=True, return_dict=True)
        sampling = {"do_sample": True, "temperature": 0.9, "top_k": 50,  # Sesame's, for both decoders
                    "suppress_tokens": list(range(csm.model.codec_model.config.codebook_size,
                                                  csm.model.config.vocab_size))}
        return csm.model.generate(**inputs, output_audio=True, max_new_tokens=frames(csm.frame_rate), **sampling,
                                  **{f"depth_decoder_{k}": v for k, v in sampling.items()})[0]

    def bare_dia(ref: np.ndarray):
        inputs = dia.processor(text=[f"[S1] {WORDS} [S1] {TEXT}"], audio=[ref], padding=True, return_tensors="pt")
        prompt_len = dia.processor.get_audio_prompt_len(inputs["decoder_attention_mask"])
        codes = dia.model.generate(**inputs, max_new_tokens=frames(dia.frame_rate) + 15, guidance_scale=3.0,
                                   temperature=1.8, top_p=0.9, top_k=45, do_sample=True)
        return dia.processor.batch_decode(codes, audio_prompt_len=prompt_len)[0]

    def bare_vibe(ref: np.ndarray):
        conversation = [{"role": "0", "content": [{"type": "text", "text": TEXT}, {"type": "audio", "path": ref}]}]
        inputs = vibe.processor.apply_chat_template(conversation, tokenize=True, return_dict=True, return_tensors="pt")
        return vibe.model.generate(**inputs, max_new_tokens=frames(vibe.frame_rate) + 1, guidance_scale=1.3,
                                   num_diffusion_steps=10)[0]

    return {"pocket-tts": (pocket, bare_pocket, {}), "csm-1b": (csm, bare_csm, {"max_seconds": SECONDS}),
            "dia-1.6b": (dia, bare_dia, {"max_seconds": SECONDS}),
            "vibevoice-1.5b": (vibe, bare_vibe, {"max_seconds": SECONDS})}


SECONDS = 0.8  # generated speech per call, where the engine takes a bound


def frames(rate: float) -> int:
    return int(np.ceil(SECONDS * rate))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    clip = load(speech_dir() / "wav" / f"{CLIP}.wav")
    voice = VoicePrompt(clips=(clip,), transcripts=(WORDS,))
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for engine_id, (adapter, bare, options) in engines(Path(tmp)).items():
            ref = trim_silence(resample(clip, adapter.sample_rate)).samples
            adapter(TEXT, voice=voice, seed=1, **options)  # warm-up: first calls allocate caches
            with seeded_rng(1, "cpu"), torch.inference_mode():
                bare(ref)
            adapter_s, bare_s = [], []
            for repeat in range(args.repeats):
                started = time.perf_counter()
                adapter(TEXT, voice=voice, seed=repeat, **options)
                adapter_s.append(time.perf_counter() - started)
                started = time.perf_counter()
                with seeded_rng(repeat, "cpu"), torch.inference_mode():
                    bare(ref)
                bare_s.append(time.perf_counter() - started)
            a, b = statistics.median(adapter_s), statistics.median(bare_s)
            results[engine_id] = {"adapter_s": round(a, 4), "bare_s": round(b, 4), "ratio_vs_bare": round(a / b, 3)}
    print(json.dumps({"engines": results, "repeats": args.repeats, "models": "tiny random (overhead only)",
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                      "cpus": len(os.sched_getaffinity(0)), "load_avg": round(os.getloadavg()[0], 2)}))


if __name__ == "__main__":
    main()
