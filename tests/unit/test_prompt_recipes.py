"""Per-cloner prompt recipes: from a voice of two clips with transcripts, the exact inputs each engine hands its
model (token layout, where the audio goes, sample rate, generation settings), checked against what the model's
own processor builds when used the documented way. A wrapper that lays the prompt out differently from the
library would still run with tiny random weights and sound wrong with real ones; here it fails.

Sources read (transformers 5.23): CSM, `generation_csm.py` (the documented example: a conversation of
`{"role": speaker, "content": [text, audio]}` turns, then the turn to speak, through
`processor.apply_chat_template(tokenize=True, return_dict=True)`, then `generate(output_audio=True)`);
Pocket TTS, `processing_pocket_tts.py` (`processor(text=prompt, audio=[voice waveform])` encodes the voice with
the codec, after the feature extractor ends it on a pause; the prompt is `voice bos, voice, text, audio bos`
with the audio bos written by the chat template's generation prompt); SpeechT5, `modeling_speecht5.py`
(`generate_speech(input_ids, speaker_embeddings)` with the character tokenizer's ids ending in `</s>`, a
(1, 512) unit x-vector, and the 16 kHz HiFi-GAN on the mels)."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from pipelines.audio import load, resample, trim_silence
from pipelines.base import VoicePrompt
from tests.conftest import speech_clip

TEXT = "The lighthouse keeper climbed the stairs."


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("recipes")


@pytest.fixture(scope="module")
def voice() -> VoicePrompt:
    """Two real clips of one speaker with their exact words, as the voice library holds them."""
    return VoicePrompt(clips=(load(speech_clip("denoiser_clean_p287_002")), load(speech_clip("coqui_lj_LJ001-0001"))),
                       transcripts=("Ask her to bring these things with her from the store.",
                                    "Printing, in the only sense with which we are at present concerned, differs "
                                    "from most if not from all the arts and crafts represented in the Exhibition"))


@contextmanager
def recorded(model: Any, method: str = "generate"):
    """The real `model.<method>`, with each call's keyword arguments kept for the test to read."""
    calls: list[dict[str, Any]] = []
    real = getattr(model, method)

    def spy(*args, **kwargs):
        calls.append({"args": args, **kwargs})
        return real(*args, **kwargs)

    setattr(model, method, spy)
    try:
        yield calls
    finally:
        delattr(model, method)


def test_csm_recipe_matches_the_documented_conversation(root, voice):
    from pipelines.speak.csm import CsmSpeak
    from tests.tiny.csm import BUILDERS

    csm = CsmSpeak.from_pretrained(BUILDERS["csm-1b"](root / "csm"), max_voice_seconds=30.0)
    with recorded(csm.model) as calls:
        csm(TEXT, voice=voice, seed=1, max_seconds=0.4)
    (call,) = calls
    turns = csm._reference_turns(voice)
    assert [words for words, _ in turns] == list(voice.transcripts)  # both clips, in order, with their words
    assert all(samples.dtype == np.float32 for _, samples in turns)
    conversation = [{"role": "0", "content": [{"type": "text", "text": words}, {"type": "audio", "path": samples}]}
                    for words, samples in turns]
    conversation.append({"role": "0", "content": [{"type": "text", "text": TEXT}]})
    documented = csm.processor.apply_chat_template(conversation, tokenize=True, return_dict=True)
    assert torch.equal(call["input_ids"], documented["input_ids"])
    assert torch.equal(call["attention_mask"], documented["attention_mask"])
    assert torch.allclose(call["input_values"], documented["input_values"].to(call["input_values"].dtype))
    assert torch.equal(call["input_values_cutoffs"], documented["input_values_cutoffs"])
    assert csm.processor.feature_extractor.sampling_rate == csm.sample_rate == 24_000
    # one audio placeholder per reference clip; the turn to speak has none
    assert int((call["input_ids"] == csm.model.config.audio_token_id).sum()) > 0
    assert csm.processor.apply_chat_template(conversation, tokenize=False).count(csm.processor.audio_token) == 2
    # Sesame's sampling for both decoders, and the audio asked for
    assert call["output_audio"] is True and call["do_sample"] is True
    assert call["temperature"] == call["depth_decoder_temperature"] == 0.9
    assert call["top_k"] == call["depth_decoder_top_k"] == 50
    assert call["max_new_tokens"] == int(np.ceil(0.4 * csm.frame_rate))


def test_pocket_tts_recipe_matches_the_processor_encoding_the_voice(root, voice):
    from pipelines.speak.pocket_tts import PocketTTSSpeak
    from tests.tiny.pocket_tts import BUILDERS, COMPONENTS

    pocket = PocketTTSSpeak.from_pretrained(BUILDERS["pocket-tts"](root / "pocket"),
                                           audio_tokenizer_path=COMPONENTS["pocket-tts"]["audio_tokenizer_path"](
                                               root / "pocket_codec"))
    with recorded(pocket.model) as calls:
        pocket(TEXT, voice=voice, seed=1)
    call = calls[0]
    processor = pocket.processor
    reference = pocket._reference(voice)
    assert reference.sample_rate == processor.feature_extractor.sampling_rate == 24_000
    whole = sum(trim_silence(resample(c, 24_000)).duration for c in voice.clips)
    assert whole <= pocket.max_voice_seconds and reference.duration == pytest.approx(whole, abs=0.05)  # both clips (joined)
    conversation = [{"role": "user", "content": [{"type": "audio", "audio": "voice"}, {"type": "text", "text": TEXT}]}]
    prompt = processor.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True)
    assert prompt.endswith(processor.audio_bos_token) and prompt.count(processor.audio_token) == 1
    assert processor.audio_bos_token not in processor.apply_chat_template(conversation, tokenize=False)
    documented = processor(text=prompt, audio=[reference.samples], return_tensors="pt")
    assert torch.equal(call["input_ids"], documented["input_ids"])
    assert torch.allclose(call["audio_prompt_latents"].float(), documented["audio_prompt_latents"].float(), atol=1e-5)
    assert torch.equal(call["audio_prompt_latents_mask"], documented["audio_prompt_latents_mask"])
    assert torch.equal(call["frames_after_eos"], documented["frames_after_eos"])
    assert call["do_sample"] is True and call["temperature"] == 0.7  # Kyutai's default


def test_speecht5_recipe_is_the_character_ids_and_a_unit_xvector(root):
    from pipelines.speak.speecht5 import SpeechT5Speak
    from tests.tiny.speecht5 import BUILDERS, COMPONENTS

    tts = SpeechT5Speak.from_pretrained(BUILDERS["speecht5-tts"](root / "tts"),
                                        vocoder_path=COMPONENTS["speecht5-tts"]["vocoder_path"](root / "hifigan"))
    xvector = np.random.default_rng(3).normal(size=512).astype(np.float32) * 7.0
    with recorded(tts.model, "generate_speech") as calls, recorded(tts.vocoder, "forward") as vocoded:
        audio = tts("Hi 2 you.", voice=VoicePrompt(clips=(), embeddings={"wavlm-base-plus-sv": xvector}), seed=1)
    (call,) = calls
    ids = call["args"][0]
    expected = tts.tokenizer.encode("Hi two you.")  # digits spelt out, as the character vocabulary was trained
    assert ids.tolist() == [expected] and expected[-1] == tts.model.config.eos_token_id
    speaker = call["speaker_embeddings"]
    assert tuple(speaker.shape) == (1, 512)
    assert torch.allclose(speaker.norm(), torch.tensor(1.0), atol=1e-4)
    assert torch.allclose(speaker[0], torch.from_numpy(xvector / np.linalg.norm(xvector)), atol=1e-5)
    assert call["threshold"] == 0.5 and "vocoder" not in call  # the vocoder runs apart, in float32
    assert len(vocoded) == 1 and audio.sample_rate == 16_000


def test_dia_recipe_is_the_reference_words_then_the_text_under_one_speaker(root, voice):
    """Dia's documented cloning: `processor(text=[transcript + text], audio=[clip])`, the new words after the
    clip's words under the same speaker tag, generation from the clip's codes with the card's settings, and only
    the audio after the prompt decoded."""
    from pipelines.speak.dia import DiaSpeak
    from tests.tiny.dia import BUILDERS, COMPONENTS

    dia = DiaSpeak.from_pretrained(BUILDERS["dia-1.6b"](root / "dia"),
                                   audio_tokenizer_path=COMPONENTS["dia-1.6b"]["audio_tokenizer_path"](root / "dac"))
    with recorded(dia.model) as calls, recorded(dia.processor, "batch_decode") as decoded:
        audio = dia(TEXT, voice=voice, seed=1, max_seconds=0.3)
    (call,) = calls
    words, reference = dia._reference(voice)
    # whole clips in order up to 10 s: the 9.7 s second clip would overflow, so the first alone, with its words
    assert words == voice.transcripts[0] and reference.sample_rate == 44_100 and reference.duration <= 10.0
    prompt = f"[S1] {words} [S1] {TEXT}"
    documented = dia.processor(text=[prompt], audio=[reference.samples], padding=True, return_tensors="pt")
    for key in ("input_ids", "attention_mask", "decoder_input_ids", "decoder_attention_mask"):
        assert torch.equal(call[key], documented[key]), key
    prompt_len = dia.processor.get_audio_prompt_len(documented["decoder_attention_mask"])
    assert decoded[0]["audio_prompt_len"] == prompt_len  # the reference itself is not handed back
    assert (call["guidance_scale"], call["temperature"], call["top_p"], call["top_k"]) == (3.0, 1.8, 0.9, 45)
    assert call["do_sample"] is True
    assert call["max_new_tokens"] == int(np.ceil(0.3 * 44_100 / 512)) + 15  # speech frames + the delay tail
    assert audio.sample_rate == 44_100


def test_vibevoice_recipe_is_the_documented_conversation_with_a_voice_sample(root, voice):
    """transformers' VibeVoice docs: one turn of speaker "0" holding the text and the voice sample (no transcript),
    through `processor.apply_chat_template(tokenize=True, return_dict=True)`; generated with guidance 1.3 and 10
    diffusion steps; the inputs in the model's precision, as the docs move them."""
    from pipelines.speak.vibevoice import VibeVoiceSpeak
    from tests.tiny.vibevoice import BUILDERS

    vibe = VibeVoiceSpeak.from_pretrained(BUILDERS["vibevoice-1.5b"](root / "vibevoice"))
    with recorded(vibe.model) as calls:
        audio = vibe(TEXT, voice=voice, seed=1, max_seconds=1.0)
    (call,) = calls
    sample = vibe._voice_sample(voice)
    assert sample.sample_rate == 24_000
    assert sample.duration == pytest.approx(sum(trim_silence(resample(c, 24_000)).duration for c in voice.clips),
                                            abs=0.05)  # both clips fit in 30 s, joined
    conversation = [{"role": "0", "content": [{"type": "text", "text": TEXT}, {"type": "audio", "path": sample.samples}]}]
    documented = vibe.processor.apply_chat_template(conversation, tokenize=True, return_dict=True, return_tensors="pt")
    for key in ("input_ids", "attention_mask", "padding_mask"):
        assert torch.equal(call[key], documented[key]), key
    assert call["input_values"].dtype == vibe.model.dtype
    assert torch.allclose(call["input_values"], documented["input_values"])
    text_ids = vibe.processor.tokenizer(f" Speaker 0: {TEXT}\n")["input_ids"]
    prompt = call["input_ids"][0].tolist()
    assert any(prompt[i:i + len(text_ids)] == text_ids for i in range(len(prompt)))  # the words, as speaker 0
    assert (call["guidance_scale"], call["num_diffusion_steps"]) == (1.3, 10)
    assert call["max_new_tokens"] == int(np.ceil(1.0 * 7.5)) + 1
    assert audio.sample_rate == 24_000 and audio.num_samples > 0
