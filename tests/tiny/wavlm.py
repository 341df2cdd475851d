"""Tiny randomly initialised WavLM x-vector checkpoint, laid out like microsoft/wavlm-base-plus-sv."""
from __future__ import annotations

from pathlib import Path
from typing import Callable


def build_wavlm_sv(folder: Path, *, seed: int = 0) -> Path:
    """2 transformer layers, 32 wide, 16-channel conv front end, 5 TDNN layers, 512-d x-vector (as the real one)."""
    import torch
    from transformers import Wav2Vec2FeatureExtractor, WavLMConfig, WavLMForXVector

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = WavLMConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        conv_dim=(16,) * 7,  # same kernels/strides as the real model: 20 ms frames at 16 kHz
        num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4,
        num_buckets=32, max_bucket_distance=64,
        tdnn_dim=(16, 16, 16, 16, 32), xvector_output_dim=512,  # the real size: SpeechT5 conditions on it
        use_weighted_layer_sum=True,  # as in wavlm-base-plus-sv
    )
    torch.manual_seed(seed)
    WavLMForXVector(config).eval().save_pretrained(folder)
    Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=False,
                             return_attention_mask=True).save_pretrained(folder)
    return folder


BUILDERS: dict[str, Callable[[Path], Path]] = {
    "wavlm-base-plus-sv": build_wavlm_sv,
}
