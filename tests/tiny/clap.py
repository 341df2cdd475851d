"""A tiny randomly initialised CLAP (RoBERTa text tower, HTSAT audio tower) saved in the laion/clap-htsat-unfused
layout, with the real 48 kHz / 10 s feature extractor settings and a byte-level BPE tokenizer built locally."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

WORDS = ("dog bark rain thunder door knock footsteps wind birds car engine glass break water city street night "
         "soft loud the a of in on").split()


def _byte_alphabet() -> list[str]:
    """GPT-2's printable stand-in for each of the 256 bytes, which byte-level BPE vocabularies are written in."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars, extra = {}, 0
    for byte in range(256):
        if byte in printable:
            chars[byte] = chr(byte)
        else:
            chars[byte] = chr(256 + extra)
            extra += 1
    return [chars[byte] for byte in range(256)]


def _tokenizer() -> Any:
    from transformers import RobertaTokenizer

    # RoBERTa layout: <s>=0, <pad>=1, </s>=2, <unk>=3; every byte has a token, so any prompt encodes.
    vocab: dict[str, int] = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for char in _byte_alphabet():
        vocab.setdefault(char, len(vocab))
    merges: list[tuple[str, str]] = []  # pairs: what tokenizers' BPE takes (the hint says list[str])
    for word in WORDS:  # whole words (with their leading space, "Ġ") merged letter by letter
        piece = "\u0120"
        for char in word:
            if piece + char not in vocab:
                merges.append((piece, char))
                vocab[piece + char] = len(vocab)
            piece += char
    vocab["<mask>"] = len(vocab)
    return RobertaTokenizer(vocab=vocab, merges=merges, model_max_length=64)  # type: ignore[arg-type]


def build(folder: Path) -> Path:
    from transformers import ClapAudioConfig, ClapConfig, ClapFeatureExtractor, ClapModel, ClapProcessor, ClapTextConfig

    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = _tokenizer()
    text = ClapTextConfig(vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                          intermediate_size=32, max_position_embeddings=66)  # 64 tokens + RoBERTa's offset of 2
    # HTSAT as in the real model (64 mel bins folded into a 256 x 256 image, patches of 4, windows of 8) but
    # two narrow stages: grid 64 -> 32, width 8 -> 16 (hidden_size must be the last stage's width).
    audio = ClapAudioConfig(spec_size=256, num_mel_bins=64, window_size=8, patch_size=4, patch_stride=(4, 4),
                            depths=(1, 1), num_attention_heads=(1, 2), num_hidden_layers=2,
                            patch_embeds_hidden_size=8, hidden_size=16, mlp_ratio=2.0, enable_fusion=False)
    config = ClapConfig(text_config=text.to_dict(), audio_config=audio.to_dict(), projection_dim=16)
    torch.manual_seed(0)
    model = ClapModel(config).eval()
    model.save_pretrained(folder)
    # The unfused checkpoint's settings: 48 kHz, 10 s windows, random crop of longer clips, repeat-pad of shorter.
    extractor = ClapFeatureExtractor(feature_size=64, sampling_rate=48000, hop_length=480, max_length_s=10,
                                     fft_window_size=1024, frequency_min=50, frequency_max=14000,
                                     truncation="rand_trunc", padding="repeatpad")
    ClapProcessor(extractor, tokenizer).save_pretrained(folder)
    return folder


tiny_clap = build

BUILDERS: dict[str, Callable[[Path], Path]] = {"clap-htsat-unfused": build}
