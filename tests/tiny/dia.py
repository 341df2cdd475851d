"""A tiny randomly initialised Dia (byte-level text encoder, 9-channel audio decoder with the real delay pattern
and token ids) in the nari-labs/Dia-1.6B-0626 layout, and a tiny DAC codec in the descript/dac_44khz layout
(the real 44.1 kHz rate and 512-sample hop, 9 codebooks of 1024 codes, a few filters a layer)."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

DELAY_PATTERN = [0, 8, 9, 10, 11, 12, 13, 14, 15]


def build_codec(folder: Path) -> Path:
    """descript/dac_44khz layout: config.json + model.safetensors."""
    from transformers import DacConfig, DacModel

    folder.mkdir(parents=True, exist_ok=True)
    config = DacConfig(encoder_hidden_size=4, downsampling_ratios=[2, 4, 8, 8], decoder_hidden_size=32,
                       n_codebooks=9, codebook_size=1024, codebook_dim=4, sampling_rate=44100)
    torch.manual_seed(0)
    DacModel(config).eval().save_pretrained(folder)
    return folder


def build(folder: Path) -> Path:
    """nari-labs/Dia-1.6B-0626 layout: model, generation config (the card's sampling settings), the byte
    tokenizer with [S1]/[S2], and the feature extractor; the processor's codec is the other repo."""
    from transformers import DiaConfig, DiaFeatureExtractor, DiaForConditionalGeneration, DiaTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    encoder = dict(max_position_embeddings=1024, num_hidden_layers=1, hidden_size=32, num_attention_heads=2,
                   num_key_value_heads=2, head_dim=16, intermediate_size=64, vocab_size=256)
    decoder = dict(max_position_embeddings=3072, num_hidden_layers=1, hidden_size=32, intermediate_size=64,
                   num_attention_heads=2, num_key_value_heads=1, head_dim=16, cross_num_attention_heads=2,
                   cross_head_dim=16, cross_num_key_value_heads=2, cross_hidden_size=32, vocab_size=1028,
                   num_channels=9)
    config = DiaConfig(encoder_config=encoder, decoder_config=decoder, delay_pattern=DELAY_PATTERN,
                       pad_token_id=1025, eos_token_id=1024, bos_token_id=1026)
    torch.manual_seed(0)
    model = DiaForConditionalGeneration(config)
    model.generation_config.update(do_sample=True, guidance_scale=3.0, temperature=1.8, top_p=0.95, top_k=45,
                                   max_length=3072, pad_token_id=1025, eos_token_id=1024, bos_token_id=1026)
    model.save_pretrained(folder)
    DiaTokenizer().save_pretrained(folder)
    DiaFeatureExtractor(sampling_rate=44100, hop_length=512).save_pretrained(folder)
    return folder


BUILDERS: dict[str, Callable[[Path], Path]] = {"dia-1.6b": build}
COMPONENTS: dict[str, dict[str, Callable[[Path], Path]]] = {"dia-1.6b": {"audio_tokenizer_path": build_codec}}
