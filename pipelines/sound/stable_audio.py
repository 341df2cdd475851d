"""Stable Audio Open: sound effects, ambience and short music beds by latent diffusion, through diffusers."""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from ..audio import Audio
from ..base import EngineError, seeded_rng
from ..loading import pick_device, reject_unknown, require_folder, torch_dtype
from . import Progress
from .diffusion import DEFAULT_NEGATIVE, DiffusionSound

MAX_TRAINED_SECONDS = 47.0  # the model card's limit; the DiT window itself is 1024 x 2048 / 44100 = 47.55 s


class StableAudioSound(DiffusionSound):
    """diffusers' StableAudioPipeline on a local copy of stabilityai/stable-audio-open-1.0 (diffusers layout).

    Components: a T5-base text encoder with its tokenizer, a projection model that turns the text and the
    start/end seconds into conditioning, a ~1B-parameter diffusion transformer (DiT) denoising 64-channel
    latents over a fixed 47.55 s window with a cosine DPM-Solver++ (SDE) scheduler, and the Oobleck VAE that
    decodes latents to 44.1 kHz stereo. The whole window is always denoised; the model is conditioned on the
    length asked and the rest is cut. The VAE stays float32 under half precision (as every codec here), so
    the pipeline stops at latents and the engine decodes them itself.

    Licence: code Apache-2.0 (diffusers); the WEIGHTS are under the Stability AI Community License: free for
    individuals and for organisations under USD 1M annual revenue, above that an enterprise licence from
    Stability AI is needed; the Hub repo is gated (accept the terms there before the model manager can
    download it). Prompts in English. The stereo output is downmixed to mono because the studio is mono.
    Needs `torchsde` (the scheduler's Brownian-tree noise).
    """

    name = "Stable Audio Open"
    default_steps = 100  # Stability's defaults
    default_guidance = 7.0

    @classmethod
    def from_pretrained(cls, model_path: str | Path | None, *, device: str = "cpu", dtype: str | None = None,
                        negative_prompt: str | None = DEFAULT_NEGATIVE, **options: Any) -> "StableAudioSound":
        """`model_path`: the folder with the diffusers files of stabilityai/stable-audio-open-1.0.
        `negative_prompt`: what guidance steers away from (None or "" for the plain unconditional branch)."""
        reject_unknown("StableAudioSound.from_pretrained", options)
        cls.check_negative(negative_prompt)
        folder = require_folder(model_path, "stabilityai/stable-audio-open-1.0", marker="model_index.json")
        try:
            import torchsde  # noqa: F401  (diffusers only says so when the scheduler is built, less clearly)
        except ImportError as exc:
            raise EngineError("Stable Audio Open needs torchsde for its scheduler; "
                              "run `pip install torchsde`.") from exc
        import torch
        from diffusers import StableAudioPipeline

        device = pick_device(device)
        precision = torch_dtype(device, dtype)
        # Local files only, like every loader in pipelines.loading; the VAE is the codec and stays float32.
        pipe = StableAudioPipeline.from_pretrained(folder, local_files_only=True,
                                                   dtype={"default": precision, "vae": torch.float32})
        return cls(cls.prepared(pipe, device), device=device, negative_prompt=negative_prompt)

    @property
    def sample_rate(self) -> int:
        return int(self.pipe.vae.config.sampling_rate)

    @property
    def max_seconds(self) -> float:
        """The DiT window (latent frames x VAE hop), and no more than the model card's 47 s."""
        window = self.pipe.transformer.config.sample_size * self.pipe.vae.hop_length / self.sample_rate
        return min(MAX_TRAINED_SECONDS, float(window))

    @property
    def max_prompt_tokens(self) -> int:
        return int(self.pipe.tokenizer.model_max_length)

    def __call__(self, prompt: str, *, seconds: float = 5.0, seed: int | None = None, steps: int | None = None,
                 guidance: float | None = None, progress: Progress | None = None) -> Audio:
        """About `seconds` of audio for `prompt`; the same seed (and options) gives the same audio."""
        import torch

        prompt, seconds, steps, guidance = self.check_request(prompt, seconds, steps, guidance)
        assert steps is not None  # a diffusion engine: check_request fills in default_steps
        tokens = len(self.pipe.tokenizer(prompt).input_ids)
        if tokens > self.max_prompt_tokens:  # the pipeline would cut it silently, dropping the last words
            raise ValueError(f"The prompt is too long: {tokens} tokens, at most {self.max_prompt_tokens}. "
                             "Describe the sound in fewer words.")
        # The scheduler seeds its Brownian-tree noise from the generator; seeded_rng also fences off the global
        # generators.
        seed, generator = self.generator(seed)

        with seeded_rng(seed, self.device), torch.inference_mode(), warnings.catch_warnings():
            # torchsde warns at every step that float32 sigma 0.29999998 lies outside its interval [0.3, 500]:
            # harmless rounding (diffusers hands it the float64 bounds).
            warnings.filterwarnings("ignore", message="Should have", module="torchsde")
            latents = self.pipe(
                prompt, audio_start_in_s=0.0, audio_end_in_s=seconds, num_inference_steps=steps,
                guidance_scale=guidance, negative_prompt=self.negative_for(guidance),
                generator=generator, callback=self.step_callback(progress, steps), callback_steps=1, output_type="latent",
            ).audios
            vae = self.pipe.vae
            audio = vae.decode(latents.to(device=vae.device, dtype=vae.dtype)).sample
        samples = audio[0].float().cpu().numpy()  # (channels, n) over the whole window
        if progress is not None:
            progress(1.0)
        return self.finish(samples, self.sample_rate, seconds)
