"""Tiny randomly initialised SpeechT5 checkpoints (text-to-speech, voice conversion, HiFi-GAN vocoder),
saved the way the Hub repos are laid out, so the pipelines load them through their real from_pretrained.

The character tokenizer file (`spm_char.model`) is a SentencePiece protobuf written here directly, since
the `sentencepiece` package is not installed: a CHAR model is just the list of its pieces.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import torch

CHARS = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ.,!?'-"
NUM_MEL_BINS = 20
SPECIAL = ["<s>", "<pad>", "</s>", "<unk>"]  # ids 0-3, as in microsoft/speecht5_tts


def _write_spm_char_model(path: Path) -> int:
    """A character-level SentencePiece model with SpeechT5's special-token layout; returns the vocab size."""
    from transformers.convert_slow_tokenizer import import_protobuf

    pb = import_protobuf()
    proto = pb.ModelProto()
    kinds = {"<s>": 3, "<pad>": 3, "</s>": 3, "<unk>": 2}  # CONTROL, UNKNOWN
    for piece in SPECIAL:
        proto.pieces.add(piece=piece, score=0.0, type=kinds[piece])
    for i, ch in enumerate(dict.fromkeys(CHARS.replace(" ", "\u2581"))):
        proto.pieces.add(piece=ch, score=-float(i), type=1)
    proto.trainer_spec.model_type = 4  # CHAR
    proto.trainer_spec.vocab_size = len(proto.pieces)
    proto.normalizer_spec.name = "identity"
    proto.normalizer_spec.add_dummy_prefix = True
    proto.normalizer_spec.remove_extra_whitespaces = True
    proto.normalizer_spec.escape_whitespaces = True
    path.write_bytes(proto.SerializeToString())
    return len(proto.pieces)


def _write_tokenizer_files(folder: Path) -> int:
    vocab_size = _write_spm_char_model(folder / "spm_char.model")
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "SpeechT5Tokenizer", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>",
        "pad_token": "<pad>", "normalize": False, "model_max_length": 600,
    }, indent=2))
    return vocab_size


def _config(vocab_size: int):
    from transformers import SpeechT5Config

    return SpeechT5Config(
        vocab_size=vocab_size, hidden_size=32, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
        decoder_attention_heads=2, encoder_ffn_dim=64, decoder_ffn_dim=64, num_mel_bins=NUM_MEL_BINS,
        speech_decoder_prenet_units=32, speech_decoder_postnet_units=32, speech_decoder_postnet_layers=2,
        speaker_embedding_dim=512, max_text_positions=120, max_speech_positions=1200,
        conv_dim=(16, 16, 16, 16, 16, 16, 16), num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2,
        encoder_max_relative_position=40,
    )


def _never_stop_early(model) -> None:
    """A random stop-token head fires on the first frame, which would make every output one frame long;
    bias it off so length is set by the pipeline's length limits, as a trained model's would roughly be."""
    with torch.no_grad():
        model.speech_decoder_postnet.prob_out.bias.fill_(-20.0)


def build_tts(folder: Path) -> Path:
    """microsoft/speecht5_tts layout: config, weights, spm_char.model, tokenizer_config.json."""
    from transformers import SpeechT5ForTextToSpeech

    folder.mkdir(parents=True, exist_ok=True)
    vocab_size = _write_tokenizer_files(folder)
    torch.manual_seed(0)
    model = SpeechT5ForTextToSpeech(_config(vocab_size))
    _never_stop_early(model)
    model.save_pretrained(folder)
    return folder


def build_vc(folder: Path) -> Path:
    """microsoft/speecht5_vc layout: config, weights, preprocessor_config.json (SpeechT5FeatureExtractor)."""
    from transformers import SpeechT5FeatureExtractor, SpeechT5ForSpeechToSpeech

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    model = SpeechT5ForSpeechToSpeech(_config(len(SPECIAL) + len(CHARS)))
    _never_stop_early(model)
    model.save_pretrained(folder)
    SpeechT5FeatureExtractor(num_mel_bins=NUM_MEL_BINS).save_pretrained(folder)
    return folder


def build_vocoder(folder: Path) -> Path:
    """microsoft/speecht5_hifigan layout; hop 256 samples at 16 kHz like the real one."""
    from transformers import SpeechT5HifiGan, SpeechT5HifiGanConfig

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    config = SpeechT5HifiGanConfig(
        model_in_dim=NUM_MEL_BINS, upsample_initial_channel=16, upsample_rates=(8, 8, 4),
        upsample_kernel_sizes=(16, 16, 8), resblock_kernel_sizes=(3,), resblock_dilation_sizes=((1, 3),),
    )
    vocoder = SpeechT5HifiGan(config)
    vocoder.mean.normal_(0.0, 1.0)  # stats buffers start at 0/1; give them values to check they are loaded
    vocoder.scale.uniform_(0.5, 2.0)
    with torch.no_grad():  # random layers shrink the signal to ~1e-7: audible output, so callers can judge it
        vocoder.conv_post.weight.mul_(1e6)
    vocoder.save_pretrained(folder)
    return folder


BUILDERS: dict[str, Callable[[Path], Path]] = {"speecht5-tts": build_tts, "speecht5-vc": build_vc}
COMPONENTS: dict[str, dict[str, Callable[[Path], Path]]] = {
    "speecht5-tts": {"vocoder_path": build_vocoder},
    "speecht5-vc": {"vocoder_path": build_vocoder},
}
