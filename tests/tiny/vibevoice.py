"""A tiny randomly initialised VibeVoice (Qwen2 backbone, acoustic and semantic tokenizers with the real 3200-sample
hop at 24 kHz, diffusion head) in the VibeVoice-1.5B-hf layout: model, generation config with the noise scheduler
the released checkpoints name, a character tokenizer with the audio placeholder tokens, and a chat template that
writes the original's prompt (voice input per speaker, text input, then the speech output start).

The decoder's last layer is scaled up so the speech is audible rather than ~1e-8. The language-model head is
zeroed, so every step's allowed-token logits tie and the audio token, given the lowest
id, is always chosen: a random head would often end the speech at once, leaving nothing to test."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?;:'\"-\n "
SPECIAL = ["<|vision_pad|>", "<|vision_start|>", "<|vision_end|>", "<|endoftext|>"]  # audio, bos, eos, text eos
CHAT_TEMPLATE = (
    "{{- ' Transform the text provided by various speakers into speech output, utilizing the distinct voice of "
    "each respective speaker.\\n' -}}"
    "{%- set ns = namespace(voices=false) -%}"
    "{%- for message in messages -%}{%- for item in message['content'] -%}{%- if item['type'] == 'audio' -%}"
    "{%- if not ns.voices -%}{{- ' Voice input:\\n' -}}{%- set ns.voices = true -%}{%- endif -%}"
    "{{- ' Speaker ' ~ message['role'] ~ ':<|vision_start|><|vision_pad|><|vision_end|>\\n' -}}"
    "{%- endif -%}{%- endfor -%}{%- endfor -%}"
    "{{- ' Text input:\\n' -}}"
    "{%- for message in messages -%}{%- for item in message['content'] -%}{%- if item['type'] == 'text' -%}"
    "{{- ' Speaker ' ~ message['role'] ~ ': ' ~ item['text'] ~ '\\n' -}}"
    "{%- endif -%}{%- endfor -%}{%- endfor -%}"
    "{{- ' Speech output:\\n<|vision_start|>' -}}"
)


def _tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import TokenizersBackend

    vocab = {token: i for i, token in enumerate(SPECIAL)}
    for ch in CHARS:
        vocab.setdefault(ch, len(vocab))
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<|endoftext|>"))
    backend.pre_tokenizer = pre_tokenizers.Split("", "isolated")
    backend.decoder = decoders.Fuse()
    tokenizer = TokenizersBackend(tokenizer_object=backend, eos_token="<|endoftext|>", pad_token="<|endoftext|>",
                                  extra_special_tokens={"audio_bos_token": SPECIAL[1], "audio_eos_token": SPECIAL[2],
                                                        "audio_token": SPECIAL[0]})
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def build(folder: Path) -> Path:
    from transformers import (
        VibeVoiceAcousticTokenizerFeatureExtractor,
        VibeVoiceConfig,
        VibeVoiceForConditionalGeneration,
        VibeVoiceProcessor,
    )

    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = _tokenizer()
    acoustic = dict(hidden_size=8, num_filters=4, depths=[1] * 7, downsampling_ratios=[2, 2, 4, 5, 5, 8])
    config = VibeVoiceConfig(
        text_config=dict(model_type="qwen2", vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64,
                         num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
                         max_position_embeddings=4096, tie_word_embeddings=False),
        audio_config=dict(model_type="vibevoice_acoustic_tokenizer", **acoustic),
        semantic_model_config=dict(model_type="vibevoice_acoustic_tokenizer_encoder", **{**acoustic, "hidden_size": 16}),
        diffusion_head_config=dict(num_hidden_layers=1, intermediate_size=32, frequency_embedding_size=16),
        pad_token_id=3, eos_token_id=3, audio_bos_token_id=1, audio_eos_token_id=2, audio_token_id=0,
    )
    torch.manual_seed(0)
    model = VibeVoiceForConditionalGeneration(config).eval()
    with torch.no_grad():
        model.lm_head.weight.zero_()
        # random layers shrink the decoded signal to ~1e-8: audible output, so callers can judge it
        model.model.audio_tower.decoder.head.conv.weight.mul_(1e7)
    model.generation_config.update(
        noise_scheduler_class="DPMSolverMultistepScheduler",
        noise_scheduler_config={"beta_schedule": "squaredcos_cap_v2", "prediction_type": "v_prediction"},
        num_diffusion_steps=10, guidance_scale=1.3, eos_token_id=3, pad_token_id=3)
    model.save_pretrained(folder)
    features = VibeVoiceAcousticTokenizerFeatureExtractor(sampling_rate=24000, pad_to_multiple_of=3200)
    VibeVoiceProcessor(features, tokenizer, chat_template=CHAT_TEMPLATE).save_pretrained(folder)
    return folder


BUILDERS: dict[str, Callable[[Path], Path]] = {"vibevoice-1.5b": build}
