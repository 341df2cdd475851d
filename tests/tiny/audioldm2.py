"""A tiny randomly initialised AudioLDM 2 (CLAP + T5 text encoders, projection model, GPT-2 language model,
UNet, mel VAE, HiFi-GAN vocoder, DDIM scheduler) saved by `AudioLDM2Pipeline.save_pretrained`, i.e. in the
diffusers layout of cvssp/audioldm2 (model_index.json and one subfolder per component). The tokenizers are
the locally built ones of the tiny CLAP (byte-level BPE RoBERTa) and the tiny MusicGen (T5). The vocoder keeps
the real 16 kHz but a hop of 320 samples (50 mel frames/s, the real one: 160), and the UNet a window of 64
latent frames, so the training window is 2.56 s and a call takes milliseconds."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from .clap import _tokenizer as _clap_tokenizer
from .musicgen import _tokenizer as _t5_tokenizer

SAMPLING_RATE = 16000
HOP = 320  # vocoder upsampling 8 x 8 x 5
MEL_BINS = 8  # the real model: 64
LATENT_FRAMES = 64  # x VAE factor 2 x hop 320 / 16 kHz = 2.56 s (the real model: 256 x 4 x 160 -> 10.24 s)
# All different, and CLAP's projection unlike its hidden size, so a state fed to the wrong layer fails loudly.
CLAP_DIM, T5_DIM, GPT_DIM = 12, 20, 16


def _clap(vocab_size: int):
    from transformers import ClapAudioConfig, ClapConfig, ClapModel, ClapTextConfig

    # Only the text tower is used to generate (the audio tower ranks several waveforms per prompt, which the
    # engine never asks for), so the audio tower is as small as HTSAT allows.
    text = ClapTextConfig(vocab_size=vocab_size, hidden_size=24, num_hidden_layers=1, num_attention_heads=2,
                          intermediate_size=48, max_position_embeddings=66, projection_dim=CLAP_DIM)
    audio = ClapAudioConfig(spec_size=64, num_mel_bins=64, window_size=4, patch_size=2, patch_stride=(2, 2),
                            depths=(1, 1), num_attention_heads=(1, 2), num_hidden_layers=2,
                            patch_embeds_hidden_size=8, hidden_size=16, mlp_ratio=2.0, enable_fusion=False,
                            projection_dim=CLAP_DIM)
    return ClapModel(ClapConfig(text_config=text.to_dict(), audio_config=audio.to_dict(), projection_dim=CLAP_DIM))


def build(folder: Path) -> Path:
    from diffusers import (
        AudioLDM2Pipeline,
        AudioLDM2ProjectionModel,
        AudioLDM2UNet2DConditionModel,
        AutoencoderKL,
        DDIMScheduler,
    )
    from transformers import (
        ClapFeatureExtractor,
        GPT2Config,
        GPT2Model,
        SpeechT5HifiGan,
        SpeechT5HifiGanConfig,
        T5Config,
        T5EncoderModel,
    )

    folder.mkdir(parents=True, exist_ok=True)
    tokenizer, tokenizer_2 = _clap_tokenizer(), _t5_tokenizer()
    torch.manual_seed(0)
    text_encoder = _clap(len(tokenizer))
    text_encoder_2 = T5EncoderModel(T5Config(vocab_size=len(tokenizer_2), d_model=T5_DIM, d_kv=8, d_ff=32,
                                             num_layers=1, num_heads=2, relative_attention_num_buckets=8))
    language_model = GPT2Model(GPT2Config(n_embd=GPT_DIM, n_head=2, n_layer=1, vocab_size=8, n_positions=64,
                                          bos_token_id=0, eos_token_id=0))  # fed embeddings, never token ids
    language_model.config.max_new_tokens = 4  # the real model: 8 generated conditioning vectors
    projection = AudioLDM2ProjectionModel(text_encoder_dim=CLAP_DIM, text_encoder_1_dim=T5_DIM,
                                          langauge_model_dim=GPT_DIM)  # sic: diffusers' spelling
    # Block 1: no cross-attention; block 2 attends to the GPT-2 output and to the T5 states, as the real UNet.
    unet = AudioLDM2UNet2DConditionModel(
        sample_size=LATENT_FRAMES, in_channels=4, out_channels=4, block_out_channels=(8, 16), layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=([None, GPT_DIM, T5_DIM], [None, GPT_DIM, T5_DIM]), attention_head_dim=4,
        norm_num_groups=4,
    )
    vae = AutoencoderKL(in_channels=1, out_channels=1, latent_channels=4, block_out_channels=(4, 8),
                        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
                        norm_num_groups=2, sample_size=LATENT_FRAMES * 2)
    vocoder = SpeechT5HifiGan(SpeechT5HifiGanConfig(
        model_in_dim=MEL_BINS, sampling_rate=SAMPLING_RATE, upsample_initial_channel=16, upsample_rates=[8, 8, 5],
        upsample_kernel_sizes=[16, 16, 10], resblock_kernel_sizes=[3], resblock_dilation_sizes=[[1, 3]],
        normalize_before=False))
    for module in vocoder.modules():  # HiFi-GAN's init (std 0.01 per conv) decodes to near silence (~1e-6):
        if isinstance(module, (torch.nn.Conv1d, torch.nn.ConvTranspose1d)):  # torch's default init is audible
            module.reset_parameters()
    # DDIM, as the real checkpoint; the betas of AudioLDM's training configs (linear_start/end 0.0015/0.0195).
    scheduler = DDIMScheduler(beta_start=0.0015, beta_end=0.0195, beta_schedule="scaled_linear", clip_sample=False,
                              set_alpha_to_one=False, steps_offset=1)
    extractor = ClapFeatureExtractor(feature_size=64, sampling_rate=48000, hop_length=480, max_length_s=10)
    pipeline = AudioLDM2Pipeline(vae=vae, text_encoder=text_encoder, text_encoder_2=text_encoder_2,
                                 projection_model=projection, language_model=language_model, tokenizer=tokenizer,
                                 tokenizer_2=tokenizer_2, feature_extractor=extractor, unet=unet,
                                 scheduler=scheduler, vocoder=vocoder)
    pipeline.save_pretrained(folder)
    return folder


# One layout for every AudioLDM 2 checkpoint: the base, large and music repos differ only in the UNet's size.
BUILDERS: dict[str, Callable[[Path], Path]] = {"audioldm2-large": build}
