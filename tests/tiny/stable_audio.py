"""A tiny randomly initialised Stable Audio Open (T5 text encoder, projection model, DiT, Oobleck VAE, cosine
DPM-Solver scheduler) saved by `StableAudioPipeline.save_pretrained`, i.e. in the diffusers layout of
stabilityai/stable-audio-open-1.0 (model_index.json and one subfolder per component). The T5 tokenizer is the
word-list one of the tiny MusicGen. The VAE keeps the real 44.1 kHz stereo output but a hop of 512 samples,
and the DiT a window of 128 latent frames, so the whole window is about 1.5 s and a call takes milliseconds."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from .musicgen import _tokenizer

SAMPLING_RATE = 44100
LATENT_CHANNELS = 4
LATENT_FRAMES = 128  # x hop 512 / 44100 = 1.486 s per window (the real model: 1024 x 2048 -> 47.55 s)
CONDITIONING_DIM = 8


def build(folder: Path) -> Path:
    from diffusers import (
        AutoencoderOobleck,
        CosineDPMSolverMultistepScheduler,
        StableAudioDiTModel,
        StableAudioPipeline,
        StableAudioProjectionModel,
    )
    from transformers import T5Config, T5EncoderModel

    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = _tokenizer()
    tokenizer.model_max_length = 128  # as the real tokenizer: the pipeline pads every prompt to this length
    torch.manual_seed(0)
    text_encoder = T5EncoderModel(T5Config(vocab_size=len(tokenizer), d_model=16, d_kv=8, d_ff=32, num_layers=1,
                                           num_heads=2, relative_attention_num_buckets=8))
    projection = StableAudioProjectionModel(text_encoder_dim=16, conditioning_dim=CONDITIONING_DIM,
                                            min_value=0, max_value=512)  # the real seconds range
    transformer = StableAudioDiTModel(
        sample_size=LATENT_FRAMES, in_channels=LATENT_CHANNELS, out_channels=LATENT_CHANNELS, num_layers=1,
        attention_head_dim=8, num_attention_heads=2, num_key_value_attention_heads=1, cross_attention_dim=16,
        time_proj_dim=8, global_states_input_dim=2 * CONDITIONING_DIM, cross_attention_input_dim=CONDITIONING_DIM,
    )
    vae = AutoencoderOobleck(encoder_hidden_size=4, downsampling_ratios=[4, 8, 16], channel_multiples=[1, 2, 2],
                             decoder_channels=4, decoder_input_channels=LATENT_CHANNELS, audio_channels=2,
                             sampling_rate=SAMPLING_RATE)
    # The real scheduler's settings (v-prediction, exponential sigmas 0.3..500, second order).
    scheduler = CosineDPMSolverMultistepScheduler(sigma_min=0.3, sigma_max=500, sigma_data=1.0,
                                                  sigma_schedule="exponential", solver_order=2,
                                                  prediction_type="v_prediction")
    pipeline = StableAudioPipeline(vae=vae, text_encoder=text_encoder, projection_model=projection,
                                   tokenizer=tokenizer, transformer=transformer, scheduler=scheduler)
    pipeline.save_pretrained(folder)
    return folder


BUILDERS: dict[str, Callable[[Path], Path]] = {"stable-audio-open-1.0": build}
