"""AudioLDM 2: sound effects, ambience and music by latent diffusion on mel spectrograms, through diffusers."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..audio import Audio
from ..base import seeded_rng
from ..loading import load_model, pick_device, reject_unknown, require_folder, torch_dtype
from . import Progress
from .diffusion import DEFAULT_NEGATIVE, DiffusionSound

REPO = "cvssp/audioldm2-large"  # the catalog's; cvssp/audioldm2 and cvssp/audioldm2-music load the same way
MAX_SECONDS = 30.0  # a guard for checkpoints whose config declares a longer window than anyone trained on
MAX_PROMPT_TOKENS = 512  # CLAP's RoBERTa and Flan-T5 both read at most 512 tokens


class AudioLDM2Sound(DiffusionSound):
    """diffusers' AudioLDM2Pipeline on a local copy of cvssp/audioldm2-large (diffusers layout; cvssp/audioldm2
    and cvssp/audioldm2-music load the same way).

    Components: two text encoders (CLAP's RoBERTa text tower, giving one pooled vector, and the Flan-T5-large
    encoder), a projection model, a GPT-2 that generates 8 conditioning vectors from both, a UNet denoising
    mel-spectrogram latents with a DDIM scheduler, the VAE that decodes them to a 64-bin mel spectrogram and a
    HiFi-GAN vocoder that makes 16 kHz mono audio. Trained on 10.24 s clips, which the UNet's configured size
    states; the engine makes at most that (the UNet has no hard length limit, but past its training window
    the sound loses structure). The VAE and vocoder stay float32 under half precision, as every codec here,
    so the pipeline stops at latents and the engine decodes them itself.

    transformers >= 4.50 no longer gives every model `GenerationMixin`, and the checkpoint names the language
    model as a bare `GPT2Model`; the pipeline's generation loop calls `_update_model_kwargs_for_generation`,
    which only GPT2LMHeadModel has. So the engine loads that folder as GPT2LMHeadModel: the same weights (its
    LM head is tied to the token embeddings, nothing new is read or made up) and the same last hidden states.

    Licence: code Apache-2.0 (diffusers); the WEIGHTS are CC-BY-NC-SA-4.0: no commercial use, and what is
    made from them is shared under the same terms, so the studio must say so wherever it offers this engine.
    Prompts in English.
    """

    name = "AudioLDM 2"
    default_steps = 200  # the model card's settings
    default_guidance = 3.5

    @classmethod
    def from_pretrained(cls, model_path: str | Path | None, *, device: str = "cpu", dtype: str | None = None,
                        negative_prompt: str | None = DEFAULT_NEGATIVE, **options: Any) -> "AudioLDM2Sound":
        """`model_path`: the folder with the diffusers files of cvssp/audioldm2.
        `negative_prompt`: what guidance steers away from (None or "" for the plain unconditional branch)."""
        reject_unknown("AudioLDM2Sound.from_pretrained", options)
        cls.check_negative(negative_prompt)
        folder = require_folder(model_path, REPO, marker="model_index.json")
        require_folder(folder / "language_model", REPO, name="language_model folder")
        import torch
        from diffusers import AudioLDM2Pipeline
        from transformers import GPT2LMHeadModel

        device = pick_device(device)
        precision = torch_dtype(device, dtype)
        language_model = load_model(GPT2LMHeadModel, folder / "language_model", device=device, dtype=precision)
        # Local files only, like every loader in pipelines.loading; the VAE and vocoder stay float32.
        pipe = AudioLDM2Pipeline.from_pretrained(
            folder, local_files_only=True, language_model=language_model,
            dtype={"default": precision, "vae": torch.float32, "vocoder": torch.float32},
        )
        return cls(cls.prepared(pipe, device), device=device, negative_prompt=negative_prompt)

    @property
    def sample_rate(self) -> int:
        return int(self.pipe.vocoder.config.sampling_rate)

    @property
    def hop_seconds(self) -> float:
        """Seconds per mel frame: the vocoder's upsampling over its rate (160 / 16000 for the real model)."""
        hop = 1
        for rate in self.pipe.vocoder.config.upsample_rates:
            hop *= int(rate)
        return hop / self.sample_rate

    @property
    def max_seconds(self) -> float:
        """The training window the UNet's config states (latent frames x VAE factor x hop: 10.24 s), capped."""
        window = self.pipe.unet.config.sample_size * self.pipe.vae_scale_factor * self.hop_seconds
        return min(MAX_SECONDS, float(window))

    def _check_prompt_length(self, prompt: str) -> None:
        """Each text encoder reads a bounded number of tokens; the pipeline would cut the rest silently."""
        for tokenizer in (self.pipe.tokenizer, self.pipe.tokenizer_2):
            limit = int(min(tokenizer.model_max_length, MAX_PROMPT_TOKENS))
            tokens = len(tokenizer(prompt).input_ids)
            if tokens > limit:
                raise ValueError(f"The prompt is too long: {tokens} tokens, at most {limit}. "
                                 "Describe the sound in fewer words.")

    def __call__(self, prompt: str, *, seconds: float = 5.0, seed: int | None = None, steps: int | None = None,
                 guidance: float | None = None, progress: Progress | None = None) -> Audio:
        """About `seconds` of audio for `prompt`; the same seed (and options) gives the same audio."""
        import torch

        prompt, seconds, steps, guidance = self.check_request(prompt, seconds, steps, guidance)
        assert steps is not None  # a diffusion engine: check_request fills in default_steps
        self._check_prompt_length(prompt)
        # DDIM with eta 0 draws nothing after the starting noise; seeded_rng also fences off the global
        # generators.
        seed, generator = self.generator(seed)

        with seeded_rng(seed, self.device), torch.inference_mode():
            latents = self.pipe(
                prompt, audio_length_in_s=seconds, num_inference_steps=steps, guidance_scale=guidance,
                negative_prompt=self.negative_for(guidance), generator=generator,
                callback=self.step_callback(progress, steps), callback_steps=1, output_type="latent",
            ).audios
            vae = self.pipe.vae
            latents = latents.to(device=vae.device, dtype=vae.dtype) / vae.config.scaling_factor
            mel = vae.decode(latents).sample
            audio = self.pipe.mel_spectrogram_to_waveform(mel.to(self.pipe.vocoder.dtype))  # float32, on the CPU
        if progress is not None:
            progress(1.0)
        return self.finish(audio[0].numpy(), self.sample_rate, seconds)
