"""Tiny randomly initialised Whisper checkpoints, laid out like the Hub ones, for the WhisperHub tests.

Everything is written locally: a byte-level BPE tokenizer (256 byte symbols, a few merges, Whisper's
special tokens in Whisper's order, then the 1501 timestamp tokens), a WhisperFeatureExtractor and a
generation config carrying what `generate()` needs for language detection, timestamps and word
timings (lang_to_id, task_to_id, no_timestamps_token_id, alignment_heads, ...).
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

# A few real Whisper language codes; the tiny model knows only these.
LANGUAGES = ("en", "de", "fr", "es", "ja", "zh")
_MERGE_WORDS = ("the", "and", "ing", "er", "in", "th", "an", "re", "on", "at")


def _tokenizer(folder: Path):
    from tokenizers import AddedToken
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import WhisperTokenizer

    alphabet = sorted(ByteLevel.alphabet())
    vocab = {symbol: i for i, symbol in enumerate(alphabet)}
    merges: list[tuple[str, str]] = []
    for word in _MERGE_WORDS:  # merges as a BPE trainer would have learnt them: left to right
        left = word[0]
        for ch in word[1:]:
            if left + ch not in vocab:
                merges.append((left, ch))
                vocab[left + ch] = len(vocab)
            left += ch
    merges.append(("Ġ", "t"))
    vocab["Ġt"] = len(vocab)
    tokenizer = WhisperTokenizer(vocab=vocab, merges=merges)
    specials = ["<|endoftext|>", "<|startoftranscript|>", *[f"<|{code}|>" for code in LANGUAGES],
                "<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nospeech|>",
                "<|notimestamps|>"]
    tokenizer.add_special_tokens({"additional_special_tokens": [AddedToken(t, special=True, normalized=False)
                                                                for t in specials]})
    timestamps = [AddedToken(f"<|{i * 0.02:.2f}|>", special=False, normalized=False) for i in range(1501)]
    tokenizer.add_tokens(timestamps)
    tokenizer.save_pretrained(folder)
    return tokenizer


def build_whisper(folder: Path, *, seed: int = 0, mel_bins: int = 128) -> Path:
    """A 2-layer, 32-wide multilingual Whisper (about 0.3 M parameters) with processor and generation config;
    128 mel bins like large-v3(-turbo), 80 like small."""
    import torch
    from transformers import (GenerationConfig, WhisperConfig, WhisperFeatureExtractor,
                              WhisperForConditionalGeneration)

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = _tokenizer(folder)
    ids = tokenizer.convert_tokens_to_ids
    eot, sot = ids("<|endoftext|>"), ids("<|startoftranscript|>")
    no_timestamps = ids("<|notimestamps|>")
    assert ids("<|0.00|>") == no_timestamps + 1, "timestamp tokens must follow <|notimestamps|>"
    space = tokenizer.convert_tokens_to_ids("Ġ")

    WhisperFeatureExtractor(feature_size=mel_bins, sampling_rate=16000).save_pretrained(folder)
    config = WhisperConfig(
        vocab_size=len(tokenizer), num_mel_bins=mel_bins, d_model=32,
        encoder_layers=2, encoder_attention_heads=2, encoder_ffn_dim=64,
        decoder_layers=2, decoder_attention_heads=2, decoder_ffn_dim=64,
        max_source_positions=1500,  # 30 s of features: generate() derives its window from this
        max_target_positions=64,
        pad_token_id=eot, bos_token_id=eot, eos_token_id=eot, decoder_start_token_id=sot,
        begin_suppress_tokens=[space, eot],
    )
    torch.manual_seed(seed)
    model = WhisperForConditionalGeneration(config).eval()
    model.save_pretrained(folder)

    generation = GenerationConfig(
        decoder_start_token_id=sot, bos_token_id=eot, eos_token_id=eot, pad_token_id=eot,
        max_length=64, begin_suppress_tokens=[space, eot], suppress_tokens=[],
        is_multilingual=True,
        lang_to_id={f"<|{code}|>": ids(f"<|{code}|>") for code in LANGUAGES},
        task_to_id={"translate": ids("<|translate|>"), "transcribe": ids("<|transcribe|>")},
        no_timestamps_token_id=no_timestamps, prev_sot_token_id=ids("<|startofprev|>"),
        max_initial_timestamp_index=50,
        alignment_heads=[[1, 0], [1, 1]],  # (decoder layer, head) pairs whose cross-attention is used for DTW
    )
    generation.save_pretrained(folder)
    return folder


def build_whisper_small(folder: Path) -> Path:
    return build_whisper(folder, seed=1, mel_bins=80)


BUILDERS: dict[str, Callable[[Path], Path]] = {
    "whisper-large-v3-turbo": build_whisper,
    "whisper-small": build_whisper_small,
}
