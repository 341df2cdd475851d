"""A tiny randomly initialised Pocket TTS (backbone + flow head) and its audio tokenizer (codec), saved as the
transformers checkpoints eustlb/pocket-tts and eustlb/pocket-tts-audio-tokenizer are laid out.

The text tokenizer is a character-level `tokenizers` model built here, with the four audio placeholder
tokens as named special tokens (the processor reads them as `tokenizer.audio_prompt_token` etc.), and a
chat template that writes `<voice bos><voice> text`, and `<audio bos>` (the first audio position) only when
asked for the generation prompt, the layout PocketTTSProcessor documents.
The codec keeps the real frame size (1920 samples at 24 kHz = 12.5 latents/s) with 4 filters a layer.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import torch

CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?;:'\"-"
PLACEHOLDERS = {
    "audio_prompt_token": "<|audio_prompt|>",
    "audio_latent_token": "<|audio_latent|>",
    "audio_prompt_bos_token": "<|audio_prompt_bos|>",
    "audio_bos_token": "<|audio_bos|>",
}
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- for item in message['content'] -%}"
    "{%- if item['type'] == 'audio' -%}{{ '<|audio_prompt_bos|><|audio_prompt|>' }}"
    "{%- elif item['type'] == 'text' -%}{{ item['text'] }}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|audio_bos|>' }}{%- endif -%}"
)
LATENT_DIM = 8


def _tokenizer():
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers
    from transformers import TokenizersBackend

    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2, "<pad>": 3, "\u2581": 4}  # pad id 3 as PocketTTSConfig's default
    for ch in CHARS:
        vocab.setdefault(ch, len(vocab))
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.normalizer = normalizers.Replace(" ", "\u2581")
    backend.pre_tokenizer = pre_tokenizers.Split("", "isolated")
    backend.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.Fuse()])
    tokenizer = TokenizersBackend(tokenizer_object=backend, unk_token="<unk>", pad_token="<pad>",
                                  extra_special_tokens=dict(PLACEHOLDERS), padding_side="left")
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def _codec_config():
    from transformers import PocketTTSAudioTokenizerConfig

    return PocketTTSAudioTokenizerConfig(
        hidden_size=16, num_filters=4, upsampling_ratios=[6, 5, 4], latent_stride=16, upsample_groups=16,
        num_hidden_layers=1, intermediate_size=32, num_attention_heads=2, num_key_value_heads=2,
        latent_dim=LATENT_DIM, sliding_window=64, max_position_embeddings=1024,
    )


def build_audio_tokenizer(folder: Path) -> Path:
    """eustlb/pocket-tts-audio-tokenizer layout: config.json + model.safetensors."""
    from transformers import PocketTTSAudioTokenizerModel

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    PocketTTSAudioTokenizerModel(_codec_config()).save_pretrained(folder)
    return folder


def build(folder: Path) -> Path:
    """eustlb/pocket-tts layout: model, generation config, tokenizer, chat template, feature extractor and
    processor settings. The processor's codec lives in the other repo (see COMPONENTS)."""
    from transformers import (
        PocketTTSConfig,
        PocketTTSFeatureExtractor,
        PocketTTSForConditionalGeneration,
        PocketTTSProcessor,
    )

    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = _tokenizer()
    ids = dict(zip(PLACEHOLDERS, tokenizer.convert_tokens_to_ids(list(PLACEHOLDERS.values()))))
    codec = _codec_config()
    config = PocketTTSConfig(
        vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=64, latent_dim=LATENT_DIM, max_position_embeddings=1024, pad_token_id=3,
        audio_prompt_token_id=ids["audio_prompt_token"], audio_latent_token_id=ids["audio_latent_token"],
        audio_prompt_bos_token_id=ids["audio_prompt_bos_token"], audio_bos_token_id=ids["audio_bos_token"],
        frame_rate=codec.frame_rate,
        flow_head_config={"hidden_size": 32, "num_hidden_layers": 1, "latent_dim": LATENT_DIM, "condition_dim": 32,
                          "frequency_embedding_size": 16, "loss_weighting_hidden_size": 8,
                          "loss_weighting_num_layers": 1},
    )
    torch.manual_seed(0)
    model = PocketTTSForConditionalGeneration(config)
    model.generation_config.update(do_sample=True, temperature=0.7, return_dict_in_generate=True)
    model.save_pretrained(folder)
    features = PocketTTSFeatureExtractor(frame_size=codec.frame_size, pad_to_multiple_of=codec.frame_size)
    PocketTTSProcessor(features, tokenizer, chat_template=CHAT_TEMPLATE).save_pretrained(folder)
    # The Hub checkpoint names its codec by repo id, which cannot be resolved offline: mimic that.
    settings_file = folder / "processor_config.json"
    settings = json.loads(settings_file.read_text())
    settings["audio_tokenizer"] = {"audio_tokenizer_class": "PocketTTSAudioTokenizerModel",
                                   "audio_tokenizer_name_or_path": "eustlb/pocket-tts-audio-tokenizer"}
    settings_file.write_text(json.dumps(settings, indent=2))
    return folder


BUILDERS: dict[str, Callable[[Path], Path]] = {"pocket-tts": build}
COMPONENTS: dict[str, dict[str, Callable[[Path], Path]]] = {
    "pocket-tts": {"audio_tokenizer_path": build_audio_tokenizer},
}
