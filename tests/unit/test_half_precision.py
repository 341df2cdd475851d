"""Hub engines asked for half precision (what a GPU gets) keep their codecs and vocoders in float32, as the
reference implementations do, and still speak: built tiny and run in bfloat16 on the CPU, which exercises the
same dtype boundaries (model output -> codec input) a GPU run crosses."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from pipelines.audio import load
from pipelines.base import EngineError, VoicePrompt
from tests.conftest import speech_clip

BF16 = "bfloat16"


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("half_precision")


@pytest.fixture(scope="module")
def voice() -> VoicePrompt:
    return VoicePrompt(clips=(load(speech_clip("denoiser_clean_p287_002")),),
                       transcripts=("Ask her to bring these things with her from the store.",))


def _dtypes(module) -> set[torch.dtype]:
    return {p.dtype for p in module.parameters()}


def _finite(audio) -> None:
    assert audio.num_samples > 0 and np.all(np.isfinite(audio.samples))


def test_speecht5_vocoder_stays_float32(root, voice):
    from pipelines.convert.speecht5 import SpeechT5Convert
    from pipelines.speak.speecht5 import SpeechT5Speak
    from tests.tiny.speecht5 import BUILDERS, COMPONENTS

    vocoder = COMPONENTS["speecht5-tts"]["vocoder_path"](root / "hifigan")
    tts = SpeechT5Speak.from_pretrained(BUILDERS["speecht5-tts"](root / "tts"), vocoder_path=vocoder, dtype=BF16)
    assert _dtypes(tts.model) == {torch.bfloat16} and _dtypes(tts.vocoder) == {torch.float32}
    xvector = np.random.default_rng(0).normal(size=512).astype(np.float32)
    _finite(tts("Hello there.", voice=VoicePrompt(clips=(), embeddings={"wavlm-base-plus-sv": xvector}), seed=1))
    vc = SpeechT5Convert.from_pretrained(BUILDERS["speecht5-vc"](root / "vc"), vocoder_path=vocoder, dtype=BF16)
    assert _dtypes(vc.vocoder) == {torch.float32}
    _finite(vc(voice.clips[0], voice=VoicePrompt(clips=(), embeddings={"wavlm-base-plus-sv": xvector}), seed=1))


def test_pocket_tts_codec_stays_float32(root, voice):
    from pipelines.speak.pocket_tts import PocketTTSSpeak
    from tests.tiny.pocket_tts import BUILDERS, COMPONENTS

    model = BUILDERS["pocket-tts"](root / "pocket")
    codec = COMPONENTS["pocket-tts"]["audio_tokenizer_path"](root / "pocket_codec")
    pocket = PocketTTSSpeak.from_pretrained(model, audio_tokenizer_path=codec, dtype=BF16)
    assert torch.bfloat16 in _dtypes(pocket.model)
    assert _dtypes(pocket.processor.audio_tokenizer) == {torch.float32}
    _finite(pocket("Hello there.", voice=voice, seed=3))


def test_pocket_tts_refuses_a_codec_without_its_encoder(root):
    """A decode-only codec cannot clone: refused at load with what to use, not deep inside `encode`."""
    from transformers import PocketTTSAudioTokenizerModel

    from pipelines.speak.pocket_tts import PocketTTSSpeak
    from tests.tiny.pocket_tts import BUILDERS, _codec_config

    config = _codec_config()
    config.encoder_config = None
    decoder_only = root / "pocket_decoder_only"
    PocketTTSAudioTokenizerModel(config).save_pretrained(decoder_only)
    assert json.loads((decoder_only / "config.json").read_text())["encoder_config"] is None
    with pytest.raises(EngineError, match="no encoder.*pocket-tts-audio-tokenizer"):
        PocketTTSSpeak.from_pretrained(BUILDERS["pocket-tts"](root / "pocket2"), audio_tokenizer_path=decoder_only)


def test_csm_codec_stays_float32(root, voice):
    from pipelines.speak.csm import CsmSpeak
    from tests.tiny.csm import BUILDERS

    csm = CsmSpeak.from_pretrained(BUILDERS["csm-1b"](root / "csm"), dtype=BF16)
    assert _dtypes(csm.model.codec_model) == {torch.float32}
    assert _dtypes(csm.model.backbone_model) == {torch.bfloat16}
    _finite(csm("Hello there.", voice=voice, seed=2, max_seconds=0.5))


def test_musicgen_encodec_stays_float32(root):
    from pipelines.sound.musicgen import MusicGenSound
    from tests.tiny.musicgen import BUILDERS

    musicgen = MusicGenSound.from_pretrained(BUILDERS["musicgen-small"](root / "musicgen"), dtype=BF16)
    assert _dtypes(musicgen.model.audio_encoder) == {torch.float32}
    assert _dtypes(musicgen.model.decoder) == {torch.bfloat16}
    _finite(musicgen("rain on a tin roof", seconds=0.2, seed=1))


def test_dia_codec_stays_float32(root, voice):
    from pipelines.speak.dia import DiaSpeak
    from tests.tiny.dia import BUILDERS, COMPONENTS

    dia = DiaSpeak.from_pretrained(BUILDERS["dia-1.6b"](root / "dia"), dtype=BF16,
                                   audio_tokenizer_path=COMPONENTS["dia-1.6b"]["audio_tokenizer_path"](root / "dac"))
    assert _dtypes(dia.processor.audio_tokenizer) == {torch.float32} and torch.bfloat16 in _dtypes(dia.model)
    _finite(dia("Hello there.", voice=voice, seed=2, max_seconds=0.3))


def test_vibevoice_runs_whole_in_half_precision_as_its_reference_does(root, voice):
    """VibeVoice is the exception: Microsoft's inference loads it all in bfloat16, and transformers' port hands
    its tokenizers' outputs to bfloat16 layers uncast, so the tokenizers follow the model's precision."""
    from pipelines.speak.vibevoice import VibeVoiceSpeak
    from tests.tiny.vibevoice import BUILDERS

    vibe = VibeVoiceSpeak.from_pretrained(BUILDERS["vibevoice-1.5b"](root / "vibevoice"), dtype=BF16)
    assert _dtypes(vibe.model) == {torch.bfloat16}
    _finite(vibe("Hello there.", voice=voice, seed=2, max_seconds=0.5))


def test_a_kept_part_the_checkpoint_lacks_is_named(root):
    from transformers import SpeechT5HifiGan

    from pipelines.loading import load_model
    from tests.tiny.speecht5 import COMPONENTS

    folder = COMPONENTS["speecht5-tts"]["vocoder_path"](root / "hifigan2")
    with pytest.raises(AttributeError, match="codec_model"):
        load_model(SpeechT5HifiGan, folder, device="cpu", dtype=torch.bfloat16, keep_float32=("codec_model",))
