"""A fixed-voice engine whose speech is re-rendered towards a voice by the embedded voice matcher.

The narrator, the quality gate and the Edit tab see an ordinary speech engine: every call speaks in the
built-in speaker and hands back the matched audio (same words, same timing), so the gate scores and
streams what the person will hear."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..audio import Audio
from ..base import VoicePrompt
from ..speak import SpeakPipeline
from .world import MatchSettings, VoiceProfile, WorldMatcher


class MatchedSpeak(SpeakPipeline):
    """`engine` speaking as its built-in speaker, whose profile is `source`, matched to `target`. Build it
    with `wrap`, which gives the wrapper the engine's declared capabilities (speed range, seed dependence)."""

    @classmethod
    def wrap(cls, engine: SpeakPipeline, matcher: WorldMatcher, source: VoiceProfile, target: VoiceProfile,
             settings: MatchSettings | None = None) -> "MatchedSpeak":
        capabilities = {"call_options": engine.call_options, "speed_range": engine.speed_range,
                        "seed_dependent": engine.seed_dependent}
        wrapper = type(f"Matched{type(engine).__name__}", (cls,), capabilities)
        return wrapper(engine, matcher, source, target, settings)

    def __init__(self, engine: SpeakPipeline, matcher: WorldMatcher, source: VoiceProfile, target: VoiceProfile,
                 settings: MatchSettings | None = None) -> None:
        if engine.clones:
            raise ValueError("only fixed-voice engines are matched; a cloner imitates the voice itself.")
        self.engine = engine
        self.matcher = matcher
        self.source = source
        self.target = target
        self.settings = settings or MatchSettings(keep_silence=False)
        self.max_chars = engine.max_chars

    @classmethod
    def from_pretrained(cls, model_path: str | Path | None, *, device: str = "cpu", dtype: str | None = None,
                        **options: Any) -> "MatchedSpeak":
        raise TypeError("MatchedSpeak wraps a loaded engine: build it with MatchedSpeak(engine, matcher, ...).")

    @property
    def sample_rate(self) -> int:
        return self.engine.sample_rate

    def speakers(self) -> list[str]:
        return self.engine.speakers()

    def __call__(self, text: str, *, voice: VoicePrompt | None = None, seed: int | None = None,
                 **options: Any) -> Audio:
        speech = self.engine(text, voice=voice, seed=seed, **options)
        return self.matcher.convert(speech, self.target, source=self.source, settings=self.settings)

    def memory_bytes(self) -> int:
        return 0  # the engine is counted by the model manager that loaded it
