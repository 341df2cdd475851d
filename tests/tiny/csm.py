"""A tiny randomly initialised Sesame CSM (backbone + depth decoder + Mimi codec), saved in one folder as the
transformers checkpoint sesame/csm-1b is laid out: model, generation config, tokenizer, chat template, and the
codec's feature extractor.

The Mimi codec keeps the real convolution layout (kernels, strides, 1920-sample frames at 24 kHz = 12.5 frames
per second): CsmProcessor counts a clip's audio placeholders with those numbers hard-coded, so a codec with other
strides would disagree with it. Everything else is shrunk: 4 codebooks of 16 codes, 1-layer transformers.

The text tokenizer is a character-level `tokenizers` model built here with the four special tokens the real
(Llama 3) tokenizer uses: `<|begin_of_text|>`, `<|end_of_text|>` and the audio placeholders `<|AUDIO|>`,
`<|audio_eos|>`. The chat template writes the same layout as the checkpoint's: per turn
`<bos>[speaker]text<eos>`, followed by `<|AUDIO|><|audio_eos|>` when the turn carries audio.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?;:'\"-[]()"
SPECIAL = ["<|begin_of_text|>", "<|end_of_text|>", "<|AUDIO|>", "<|audio_eos|>"]
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{{- bos_token + '[' + message['role'] + ']' -}}"
    "{%- for item in message['content'] if item['type'] == 'text' -%}{{- item['text'] -}}{%- endfor -%}"
    "{{- eos_token -}}"
    "{%- if message['content'] | selectattr('type', 'equalto', 'audio') | list | length > 0 -%}"
    "{{- '<|AUDIO|><|audio_eos|>' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
)
CODEBOOKS = 4
CODEBOOK_SIZE = 16


def _tokenizer():
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import TokenizersBackend

    vocab = {"<unk>": 0, "\u2581": 1}
    for ch in CHARS:
        vocab.setdefault(ch, len(vocab))
    for token in SPECIAL:
        vocab[token] = len(vocab)
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    backend.normalizer = normalizers.Replace(" ", "\u2581")
    backend.pre_tokenizer = pre_tokenizers.Split("", "isolated")
    backend.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.Fuse()])
    bos, eos = SPECIAL[0], SPECIAL[1]
    # As Sesame's tokenizer: add_special_tokens=True wraps a text in <bos> ... <eos>.
    backend.post_processor = processors.TemplateProcessing(
        single=f"{bos}:0 $A:0 {eos}:0", pair=f"{bos}:0 $A:0 {eos}:0 {bos}:1 $B:1 {eos}:1",
        special_tokens=[(bos, vocab[bos]), (eos, vocab[eos])])
    tokenizer = TokenizersBackend(tokenizer_object=backend, unk_token="<unk>", bos_token=bos, eos_token=eos,
                                  pad_token=eos, additional_special_tokens=SPECIAL[2:], padding_side="left")
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def _codec_config():
    from transformers import MimiConfig

    return MimiConfig(
        hidden_size=16, num_filters=4, upsample_groups=16, num_hidden_layers=1, intermediate_size=32,
        num_attention_heads=2, num_key_value_heads=2, head_dim=8, codebook_size=CODEBOOK_SIZE, codebook_dim=8,
        vector_quantization_hidden_dimension=8, num_quantizers=CODEBOOKS, num_semantic_quantizers=1,
        sliding_window=32, max_position_embeddings=256,
    )


def _spread_codebooks(codec) -> None:
    """Mimi initialises every codebook entry to zero (real ones are learnt k-means centroids), which would make
    all codes decode to the same sound and every clip encode to code 0: give the entries distinct values."""
    from transformers.models.mimi.modeling_mimi import MimiEuclideanCodebook

    generator = torch.Generator().manual_seed(1)
    for module in codec.modules():
        if isinstance(module, MimiEuclideanCodebook):
            module.embed_sum.copy_(torch.randn(module.embed_sum.shape, generator=generator))
            module._embed = None


def build(folder: Path) -> Path:
    """sesame/csm-1b layout: config.json (with the codec's config inside) + model.safetensors (codec weights
    inside), generation_config.json, tokenizer files, chat template, preprocessor_config.json."""
    from transformers import (
        CsmConfig,
        CsmDepthDecoderConfig,
        CsmForConditionalGeneration,
        CsmProcessor,
        EncodecFeatureExtractor,
    )

    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = _tokenizer()
    bos, eos, audio, audio_eos = tokenizer.convert_tokens_to_ids(SPECIAL)
    vocab = CODEBOOK_SIZE + 3  # as the real 2051 = 2048 codes + room for the pad id (2050)
    depth = CsmDepthDecoderConfig(
        num_codebooks=CODEBOOKS, backbone_hidden_size=32, vocab_size=vocab, hidden_size=16, intermediate_size=32,
        num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=CODEBOOKS + 1,
    )
    config = CsmConfig(
        num_codebooks=CODEBOOKS, vocab_size=vocab, text_vocab_size=len(tokenizer), hidden_size=32,
        intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
        max_position_embeddings=2048, pad_token_id=audio, bos_token_id=bos, audio_token_id=audio,
        audio_eos_token_id=audio_eos, codebook_pad_token_id=vocab - 1, codebook_eos_token_id=0,
        depth_decoder_config=depth.to_dict(), codec_config=_codec_config().to_dict(),
    )
    torch.manual_seed(0)
    model = CsmForConditionalGeneration(config)
    _spread_codebooks(model.codec_model)
    # The real checkpoint's sampling defaults (Sesame's: top-k 50, temperature 0.9, 10 s).
    model.generation_config.update(max_new_tokens=125, do_sample=True, top_k=50, temperature=0.9)
    model.depth_decoder.generation_config.update(do_sample=True, top_k=50, temperature=0.9)
    model.save_pretrained(folder)
    features = EncodecFeatureExtractor(feature_size=1, sampling_rate=24000, padding_value=0.0)
    CsmProcessor(features, tokenizer, chat_template=CHAT_TEMPLATE).save_pretrained(folder)
    return folder


BUILDERS: dict[str, Callable[[Path], Path]] = {"csm-1b": build}
