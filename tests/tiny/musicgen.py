"""A tiny randomly initialised MusicGen (T5 text encoder, EnCodec 32 kHz codec, 4-codebook decoder) saved
in the facebook/musicgen-small layout, with a T5 (Unigram) tokenizer built locally from a word list."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

WORDS = ("calm piano rain ambient drums city street night wind forest birds soft warm music loop "
         "slow fast electronic guitar under over with and the a of in").split()


def _tokenizer():
    from transformers import T5Tokenizer

    # T5 layout: <pad>=0, </s>=1, <unk>=2, then pieces with log-probabilities (Unigram scores).
    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -2.0)]
    pieces += [("\u2581" + word, -3.0 - i * 0.01) for i, word in enumerate(WORDS)]
    pieces += [(ch, -8.0) for ch in "abcdefghijklmnopqrstuvwxyz"]
    return T5Tokenizer(vocab=pieces, extra_ids=0, model_max_length=512)


def build(folder: Path) -> Path:
    from transformers import (
        EncodecConfig,
        EncodecFeatureExtractor,
        MusicgenConfig,
        MusicgenDecoderConfig,
        MusicgenForConditionalGeneration,
        MusicgenProcessor,
        T5Config,
    )

    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = _tokenizer()
    text = T5Config(vocab_size=len(tokenizer), d_model=32, d_kv=8, d_ff=64, num_layers=1, num_heads=2,
                    relative_attention_num_buckets=8)
    # 32 kHz, hop 8*5*4*4 = 640 -> 50 frames/s; 64 codes = 6 bits, 1.2 kbps -> 4 codebooks, as musicgen-small.
    codec = EncodecConfig(sampling_rate=32000, upsampling_ratios=[8, 5, 4, 4], target_bandwidths=[1.2],
                          codebook_size=64, hidden_size=16, num_filters=4, num_lstm_layers=1,
                          norm_type="weight_norm", use_conv_shortcut=False)
    decoder = MusicgenDecoderConfig(vocab_size=64, pad_token_id=64, bos_token_id=64, num_codebooks=4,
                                    hidden_size=32, ffn_dim=64, num_hidden_layers=1, num_attention_heads=2,
                                    max_position_embeddings=2048)
    config = MusicgenConfig(text_encoder=text, audio_encoder=codec, decoder=decoder)
    torch.manual_seed(0)
    model = MusicgenForConditionalGeneration(config)
    with torch.no_grad():  # codebooks are buffers that start at zero: every code would decode to the same sound
        for layer in model.audio_encoder.quantizer.layers:
            layer.codebook.embed.normal_()
            layer.codebook.embed_avg.copy_(layer.codebook.embed)
            layer.codebook.cluster_size.fill_(1.0)
    model.generation_config.update(do_sample=True, guidance_scale=3.0, top_k=250, max_length=1500,
                                   pad_token_id=64, decoder_start_token_id=64)
    model.save_pretrained(folder)
    processor = MusicgenProcessor(EncodecFeatureExtractor(sampling_rate=32000), tokenizer)
    processor.save_pretrained(folder)
    return folder


BUILDERS: dict[str, Callable[[Path], Path]] = {"musicgen-small": build}
