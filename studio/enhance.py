"""Enhance: denoise and master a take (or an upload) into a new "enhanced" take, with the levels measured
before and after for the loudness report.

Enhancement must not hurt speech: the input's SNR sets how much the denoiser may take away (none on clean
input; pipelines.enhance.gate), and the recogniser hears the take before and after denoising, so a result
that became harder to understand says so."""
from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np

from pipelines import audio as au
from pipelines import mastering
from pipelines.cancel import CancelToken, checkpoint
from pipelines.catalog import Engine
from pipelines.enhance import EnhancePipeline
from pipelines.enhance.gate import attenuation_limit_db, estimate_snr_db, limit_attenuation
from pipelines.manager import ModelManager, Progress
from pipelines.scoring import word_error_rate
from pipelines.transcribe import TranscribePipeline
from storage import NewTake, Store, Take

from .config import Settings
from .media import TRANSCRIBER, Media
from .ownership import take_in
from .recordings import load_recording
from .takes import Takes, recording_take

DEFAULT_DENOISER = "deepfilternet3"  # embedded, and keeps more of the speech than RNNoise
NO_ENGINE = "none"  # enhancement without a denoiser: clean-up and loudness only
CHECK_MAX_S = 300.0  # longer takes are not heard before and after (two full transcriptions)
WORSE_CONFIDENCE = 0.05  # the recogniser this much less sure of the words after denoising...
WORSE_CHANGED = 0.10  # ...or this share of words heard differently, with fewer words heard: a warning


@dataclass(frozen=True)
class EnhanceResult:
    """The new take and the levels measured before and after, for the loudness report."""

    take: Take
    original: au.Audio
    enhanced: au.Audio
    before: mastering.LevelReport
    after: mastering.LevelReport
    criteria: tuple[mastering.Criterion, ...] = ()  # the delivery target's verdicts, one per requirement
    notices: tuple[str, ...] = ()  # what the person should know: input left as it was, speech harmed


class Enhance:
    def __init__(self, store: Store, models: ModelManager, settings: Settings, media: Media, takes: Takes) -> None:
        self.store = store
        self.models = models
        self.settings = settings
        self.media = media
        self.takes = takes

    def enhance(self, project_id: int, *, take_id: int | None = None, source: au.AudioSource | None = None,
                engine_id: str = DEFAULT_DENOISER, target: str | None = "podcast",
                progress: Progress | None = None, cancel: CancelToken | None = None,
                atten_limit_db: float | None = None, check: bool = True) -> EnhanceResult:
        """Denoise and master a take (or an upload, kept as the original take so the result has lineage)
        into a new take. An upload and its enhanced take are stored together or not at all; nothing when
        `cancel` is cancelled (checked between denoising, mastering and saving).
        `atten_limit_db`: the most the denoiser may attenuate; None decides by the input's SNR (gate.py),
        100 is unlimited. `check`: hear the take before and after denoising (takes up to CHECK_MAX_S)."""
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
        if atten_limit_db is not None and not 0.0 <= float(atten_limit_db) <= 100.0:
            raise ValueError(f"The attenuation limit must be between 0 and 100 dB, got {atten_limit_db!r}.")
        snr = round(estimate_snr_db(original), 1)  # as stored and reported
        limit = attenuation_limit_db(snr) if atten_limit_db is None else float(atten_limit_db)
        notices: list[str] = []
        checkpoint(cancel)
        cleaned = original
        if engine is not None and limit > 0.0:
            denoised = cast(EnhancePipeline, self.models.get(engine.id, progress))(original)
            cleaned = limit_attenuation(original, denoised, limit)
        elif engine is not None:
            notices.append(f"The recording is already clean (estimated SNR {snr:.0f} dB), so it was not denoised: "
                           "denoising would only cost the speech something. Levels were still mastered.")
        heard = self._heard(original, cleaned, progress, cancel) if check and cleaned is not original else {}
        if heard.get("worse"):
            notices.append(f"Denoising may have made the speech harder to understand: the recogniser heard "
                           f"{heard['asr_words_changed']:.0%} of the words differently afterwards. Compare "
                           "the two, or try a lower attenuation limit or another engine.")
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
            gate = {"snr_before_db": snr if np.isfinite(snr) else None,
                    "atten_limit_db": limit if engine else None,
                    **{k: v for k, v in heard.items() if k != "worse"}}
            take = uow.add_take(project_id, _enhanced_take(parent, enhanced, engine, target, before, after, gate))
        criteria = mastering.delivery_target(target).criteria(after) if target else ()
        return EnhanceResult(take, original, enhanced, before, after, criteria, tuple(notices))

    def _heard(self, original: au.Audio, cleaned: au.Audio, progress: Progress | None,
               cancel: CancelToken | None) -> dict:
        """The recogniser's confidence in the words before and after denoising, the share of words heard
        differently, and whether that reads as harm (less sure, or fewer and different words). `cancel` is
        checked before each hearing, so a cancel does not wait for two more model calls."""
        if original.duration > CHECK_MAX_S:
            return {}
        transcriber = cast(TranscribePipeline, self.models.get(TRANSCRIBER, progress))
        checkpoint(cancel)
        before = transcriber(original)
        checkpoint(cancel)
        after = transcriber(cleaned)
        if not before.words:
            return {}
        sure_before = float(np.mean([w.confidence for w in before.words]))
        sure_after = float(np.mean([w.confidence for w in after.words])) if after.words else 0.0
        changed = word_error_rate(before.text, after.text) or 0.0
        worse = (sure_after < sure_before - WORSE_CONFIDENCE
                 or (changed > WORSE_CHANGED and len(after.words) < len(before.words)))
        return {"asr_confidence_before": round(sure_before, 3), "asr_confidence_after": round(sure_after, 3),
                "asr_words_changed": round(changed, 3), "worse": worse}

    def enhance_all(self, project_id: int, *, engine_id: str = DEFAULT_DENOISER, target: str | None = "podcast",
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
                   before: mastering.LevelReport, after: mastering.LevelReport, gate: dict) -> NewTake:
    return NewTake(
        kind="enhanced", audio=au.encode(enhanced, "flac"), sample_rate=enhanced.sample_rate,
        duration=enhanced.duration, text=parent.text, voice_id=parent.voice_id,
        engine_id=engine.id if engine else None, engine_revision=engine.weights_revision() if engine else None,
        parameters={"target": target, "atten_limit_db": gate.get("atten_limit_db")}, parent_id=parent.id,
        scores={"lufs_before": before.integrated_lufs, "lufs_after": after.integrated_lufs,
                "true_peak_after_dbfs": after.true_peak_dbfs, "noise_floor_before_db": before.noise_floor_db,
                "noise_floor_after_db": after.noise_floor_db,
                **{k: v for k, v in gate.items() if k != "atten_limit_db"}})
