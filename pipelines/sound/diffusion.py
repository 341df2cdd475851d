"""What the diffusers text-to-audio engines share: a pipeline object (not a module) holding the parts, a
negative prompt, seeds that mean the same audio on any device, and progress reported per denoising step."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..seeds import check_seed, random_seed
from . import Progress, SoundPipeline

DEFAULT_NEGATIVE = "Low quality."  # both model cards' negative prompt: one extra text-encoder pass per call


class DiffusionSound(SoundPipeline):
    def __init__(self, pipe: Any, *, device: str = "cpu", negative_prompt: str | None = DEFAULT_NEGATIVE) -> None:
        self.pipe = pipe
        self.device = device
        self.negative_prompt = negative_prompt or None

    @staticmethod
    def prepared(pipe: Any, device: str) -> Any:
        """A loaded diffusers pipeline on `device`, every module in eval mode, its progress bars off (the studio
        reports progress itself)."""
        import torch

        pipe = pipe.to(device)
        pipe.set_progress_bar_config(disable=True)
        for part in pipe.components.values():
            if isinstance(part, torch.nn.Module):
                part.eval()
        return pipe

    @staticmethod
    def check_negative(negative_prompt: Any) -> None:
        if negative_prompt is not None and not isinstance(negative_prompt, str):
            raise ValueError(f"negative_prompt={negative_prompt!r} must be text or None.")

    def memory_bytes(self) -> int:
        """The pipeline is not a module itself: count its modules' weights."""
        total = 0
        for part in self.pipe.components.values():
            if callable(getattr(part, "parameters", None)):
                total += sum(t.numel() * t.element_size() for t in (*part.parameters(), *part.buffers()))
        return total

    def negative_for(self, guidance: float) -> str | None:
        """Guidance 1 means no unconditional branch, so no negative prompt either."""
        return self.negative_prompt if guidance > 1.0 else None

    @staticmethod
    def generator(seed: int | None) -> tuple[int, Any]:
        """The seed (drawn when None) and a CPU generator from it: the starting noise is drawn on the CPU, so
        a seed means the same audio on any device."""
        import torch

        seed = check_seed(seed)
        seed = random_seed() if seed is None else seed
        return seed, torch.Generator("cpu").manual_seed(seed)

    @staticmethod
    def step_callback(progress: Progress | None, steps: int) -> Callable[[int, Any, Any], None]:
        """diffusers' per-step `callback`: the fraction done (short of 1 until decoded); a progress that raises
        (a cancelled job) stops the denoising between steps."""
        def step_done(step: int, timestep: Any, latents: Any) -> None:
            if progress is not None:
                progress(min((step + 1) / steps, 0.99))
        return step_done
