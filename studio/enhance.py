"""Enhance: denoise and master a take (or an upload) into a new "enhanced" take, with the levels measured
before and after for the loudness report."""
from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from pipelines import audio as au
from pipelines import mastering
from pipelines.cancel import CancelToken, checkpoint
from pipelines.catalog import Engine
from pipelines.enhance import EnhancePipeline
from pipelines.manager import ModelManager, Progress
from storage import NewTake, Store, Take

from .config import Settings
from .media import Media
from .ownership import take_in
from .recordings import load_recording
from .takes import Takes, recording_take

NO_ENGINE = "none"  # enhancement without a denoiser: clean-up and loudness only


@dataclass(frozen=True)
class EnhanceResult:
    """The new take and the levels measured before and after, for the loudness report."""

    take: Take
    original: au.Audio
    enhanced: au.Audio
    before: mastering.LevelReport
    after: mastering.LevelReport
    criteria: tuple[mastering.Criterion, ...] = ()  # the delivery target's verdicts, one per requirement


class Enhance:
    def __init__(self, store: Store, models: ModelManager, settings: Settings, media: Media, takes: Takes) -> None:
        self.store = store
        self.models = models
        self.settings = settings
        self.media = media
        self.takes = takes

    def enhance(self, project_id: int, *, take_id: int | None = None, source: au.AudioSource | None = None,
                engine_id: str = "deepfilternet3", target: str | None = "podcast",
                progress: Progress | None = None, cancel: CancelToken | None = None) -> EnhanceResult:
        """Denoise and master a take (or an upload, kept as the original take so the result has lineage)
        into a new take. An upload and its enhanced take are stored together or not at all; nothing when
        `cancel` is cancelled (checked between denoising, mastering and saving)."""
        if (take_id is None) == (source is None):
            raise ValueError("Choose either a take or an uploaded recording to enhance.")
        if target is not None and target not in mastering.TARGETS:
            raise ValueError(f"Unknown delivery target {target!r}; choose one of {', '.join(mastering.TARGETS)}.")
        parent = take_in(self.store, take_id, project_id) if take_id is not None else None
        if parent is not None:
            original = self.media.take_audio(parent)
        else:
            assert source is not None
            original = load_recording(source, max_seconds=self.settings.max_audio_seconds)
        engine = None if engine_id == NO_ENGINE else self.media.engine(engine_id, "enhance")
        checkpoint(cancel)
        cleaned = cast(EnhancePipeline, self.models.get(engine.id, progress))(original) if engine else original
        checkpoint(cancel)
        if target:
            result = mastering.master(cleaned, target)
            enhanced, after = result.audio, result.after
        else:
            enhanced, after = cleaned, mastering.measure(cleaned)
        before = mastering.measure(original)
        checkpoint(cancel)
        with self.store.unit_of_work() as uow:
            if parent is None:  # only now that the work succeeded: keep the upload as the original take
                parent = uow.add_take(project_id, recording_take(original))
            take = uow.add_take(project_id, _enhanced_take(parent, enhanced, engine, target, before, after))
        criteria = mastering.delivery_target(target).criteria(after) if target else ()
        return EnhanceResult(take, original, enhanced, before, after, criteria)

    def enhance_all(self, project_id: int, *, engine_id: str = "deepfilternet3", target: str | None = "podcast",
                    progress: Progress | None = None, cancel: CancelToken | None = None) -> list[Take]:
        """Enhance every take of the project that is not itself an enhancement result. Each take's result is
        stored whole as it is made; once `cancel` is cancelled the take in progress is dropped and no other
        is started (those already finished are kept: they are complete takes of their own)."""
        originals = [t for t in self.takes.all(project_id) if t.kind != "enhanced"]
        done = []
        for index, take in enumerate(originals):
            if progress:
                progress(index / max(1, len(originals)), f"take {index + 1} of {len(originals)}")
            checkpoint(cancel)
            done.append(self.enhance(project_id, take_id=take.id, engine_id=engine_id, target=target,
                                     cancel=cancel).take)
        return done


def _enhanced_take(parent: Take, enhanced: au.Audio, engine: Engine | None, target: str | None,
                   before: mastering.LevelReport, after: mastering.LevelReport) -> NewTake:
    return NewTake(
        kind="enhanced", audio=au.encode(enhanced, "flac"), sample_rate=enhanced.sample_rate,
        duration=enhanced.duration, text=parent.text, voice_id=parent.voice_id,
        engine_id=engine.id if engine else None, engine_revision=engine.weights_revision() if engine else None,
        parameters={"target": target}, parent_id=parent.id,
        scores={"lufs_before": before.integrated_lufs, "lufs_after": after.integrated_lufs,
                "true_peak_after_dbfs": after.true_peak_dbfs, "noise_floor_before_db": before.noise_floor_db,
                "noise_floor_after_db": after.noise_floor_db})
