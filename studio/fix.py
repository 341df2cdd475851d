"""Fix a stored narration one chunk at a time, without synthesising the rest again.

`regenerate_chunk` speaks one chunk again with a new (or given) seed; `choose_attempt` swaps in another
stored attempt. Each makes a new speech take (parent: the one it came from) re-joined from the kept chunks'
stored audio, with the new attempts as its children and, in its parameters, `chunk_takes`: the attempt take
kept for every chunk (see `studio.narrations`)."""
from __future__ import annotations

from typing import cast

from pipelines import audio as au
from pipelines.cancel import CancelToken, checkpoint
from pipelines.manager import ModelManager
from pipelines.narration import Narrator, PlannedChunk, surround
from pipelines.seeds import check_seed, random_seed
from pipelines.speak import SpeakPipeline
from storage import Store, Take

from . import marking, narrations
from .media import Media, Progress, stepper
from .narrations import SpeakEvent
from .ownership import NotInProject, take_in
from .voice_match import VoiceMatcher
from .voicing import prepare_voicing


class Fix:
    def __init__(self, store: Store, models: ModelManager, media: Media, matcher: VoiceMatcher) -> None:
        self.store = store
        self.models = models
        self.media = media
        self.matcher = matcher

    def kept_attempts(self, take_id: int, *, project_id: int | None = None) -> list[Take]:
        """The attempt take each chunk of this narration is made of, in order."""
        return narrations.kept_chunks(self.store, self._narration(take_id, project_id))

    def _narration(self, take_id: int | str | None, project_id: int | None) -> Take:
        take = narrations.speech_take(self.store, take_id)
        if project_id is not None and take.project_id != int(project_id):
            raise NotInProject(f"Take #{take.id} is not in this project.")
        return take

    def chunk_attempts(self, take_id: int, *, project_id: int | None = None) -> list[Take]:
        """The attempt takes a chunk of this narration can be switched to: its own attempts and those of the
        narrations it was made from, by chunk, then oldest first."""
        seen: set[int] = set()
        found: list[Take] = []
        take: Take | None = self._narration(take_id, project_id)
        while take is not None and take.id not in seen and take.kind == "speech":
            seen.add(take.id)
            found.extend(t for t in self.store.take_children(take.id) if t.kind == "attempt")
            take = self.store.get_take(take.parent_id) if take.parent_id is not None else None
        return sorted(found, key=lambda t: (t.parameters.get("chunk", 0), t.id))

    def regenerate_chunk(self, take_id: int, chunk: int, *, seed: int | None = None, gate: bool = True,
                         progress: Progress | None = None, project_id: int | None = None,
                         cancel: CancelToken | None = None) -> SpeakEvent:
        """Speak chunk `chunk` (0-based) of a stored narration again and keep the result as a new speech take.

        `seed` None draws a new one; a given seed is the first attempt's exact seed (so a seed copied from an
        attempt reproduces it), and the gate's retries derive theirs from it. The other chunks come from their
        stored attempt takes, untouched. Returns a "done" event: the new take, its attempts, the whole audio.
        `cancel`: checked before and after the chunk is spoken; a cancelled fix stores nothing."""
        take = self._narration(take_id, project_id)
        kept = narrations.kept_chunks(self.store, take)
        index = narrations.chunk_index(chunk, len(kept))
        check_seed(seed)
        engine = self.media.engine(take.engine_id, "speak")
        step = stepper(progress)
        p = take.parameters
        voicing = prepare_voicing(self.models, self.matcher, engine, voice_id=take.voice_id,
                                  speaker=p.get("speaker"), speed=float(p.get("speed", 1.0)), gate=gate,
                                  language=self.matcher.language(take.voice_id), step=step, closest=False,
                                  match_voice=_was_matched(p))
        settings = narrations.stored_settings(p)
        narrator = Narrator(voicing.pipeline, settings, voicing.quality)
        layout = self._layout(take, kept, narrator)
        old = kept[index]
        planned = PlannedChunk(index=index, text=old.text or "", spoken=old.parameters.get("spoken") or old.text or "",
                               lead_s=layout[index][0], pause_s=layout[index][1],
                               boundary=old.parameters.get("boundary", "sentence"))
        first = int(seed) if seed is not None else random_seed()
        checkpoint(cancel)
        step(0.2, f"speaking chunk {index + 1} of {len(kept)} again")
        target = voicing.quality.scorer.reference_for(voicing.prompt) if voicing.quality is not None else None
        redone = narrator.render(planned, voice=voicing.voice, base_seed=first, first_seed=True,
                                 reference_embedding=target, **voicing.options)
        checkpoint(cancel)
        redone = marking.marked_chunk(redone, self.media.mark, settings)  # synthetic: attempts and audio marked
        step(0.9, "joining")
        parts = [redone.audio if i == index else surround(self.media.take_audio(t), *layout[i], settings)
                 for i, t in enumerate(kept)]
        whole = au.join(parts, settings.crossfade_s)
        rows = [narrations.score_row(t) for t in kept]
        rows[index] = (narrations.score_dict(redone.scores), not redone.passed, redone.speech_s)
        chunk_takes: list[int | None] = [t.id for t in kept]
        chunk_takes[index] = None  # among this take's own attempts
        parameters = {**p, "gate": voicing.quality is not None, "chunk_takes": chunk_takes,
                      "regenerated": {"chunk": index, "seed": first, "from_take": take.id},
                      **marking.note(self.media.settings)}
        parameters.pop("chosen", None)
        if voicing.reference is not None:
            parameters["reference"] = voicing.reference
        match = narrations.stored_match(p)
        scores = narrations.aggregate_rows(rows, attempts=len(redone.attempts), match=match)
        speech = narrations.derived_take(take, engine, whole, parameters, scores)
        attempts = narrations.attempt_takes([redone], take.voice_id, engine, {**p, **parameters}, layout=layout)
        checkpoint(cancel)
        new, stored = narrations.save(self.store, take.project_id, speech, attempts)
        step(1.0, "done")
        return SpeakEvent("done", index, len(kept), whole, chunk=redone, take=new, attempts=stored,
                          match=match, notices=voicing.notices)

    def choose_attempt(self, attempt_take_id: int, take_id: int | None = None, *,
                       project_id: int | None = None) -> SpeakEvent:
        """Keep another stored attempt for its chunk: a new speech take made from `take_id` (default: the
        attempt's own narration) with that chunk swapped, re-joined from stored audio; nothing is synthesised."""
        attempt = take_in(self.store, attempt_take_id, project_id)
        if attempt.kind != "attempt":
            raise ValueError(f"Take #{attempt.id} is a {attempt.kind} take, not an attempt at a narration chunk.")
        if attempt.parent_id is None and take_id is None:
            raise ValueError(f"Attempt #{attempt.id} no longer belongs to a narration (it was deleted); choose the "
                             "narration to put it in as well.")
        take = self._narration(take_id if take_id is not None else attempt.parent_id, project_id)
        if attempt.id not in {t.id for t in self.chunk_attempts(take.id)}:
            raise ValueError(f"Attempt #{attempt.id} is not an attempt at a chunk of take #{take.id}.")
        kept = narrations.kept_chunks(self.store, take)
        index = narrations.chunk_index(attempt.parameters.get("chunk"), len(kept))
        if kept[index].id == attempt.id:
            raise ValueError(f"Attempt #{attempt.id} is already the one kept for chunk {index + 1} of take #{take.id}.")
        p = take.parameters
        engine = self.models.catalog.get(take.engine_id or "")
        settings = narrations.stored_settings(p)
        layout = self._layout(take, kept)
        chosen = [attempt if i == index else t for i, t in enumerate(kept)]
        parts = [surround(self.media.take_audio(t), *layout[i], settings) for i, t in enumerate(chosen)]
        whole = au.join(parts, settings.crossfade_s)
        parameters = {**p, "chunk_takes": [t.id for t in chosen],
                      "chosen": {"chunk": index, "attempt_take": attempt.id, "from_take": take.id}}
        parameters.pop("regenerated", None)
        match = narrations.stored_match(p)
        scores = narrations.aggregate_rows([narrations.score_row(t) for t in chosen], attempts=0, match=match)
        new, _ = narrations.save(self.store, take.project_id,
                                 narrations.derived_take(take, engine, whole, parameters, scores), [])
        return SpeakEvent("done", index, len(kept), whole, take=new, attempts=(), match=match)

    def _layout(self, take: Take, kept: list[Take], narrator: Narrator | None = None) -> list[tuple[float, float]]:
        """(lead, pause) seconds around each chunk: stored with each attempt; for narrations kept before that
        was stored, planned again from the text with the narration's settings (needs the engine's limits)."""
        if all("pause_s" in t.parameters for t in kept):
            return [(float(t.parameters.get("lead_s", 0.0)), float(t.parameters["pause_s"])) for t in kept]
        if narrator is None:
            engine = self.media.engine(take.engine_id, "speak")
            pipeline = cast(SpeakPipeline, self.models.get(engine.id))
            narrator = Narrator(pipeline, narrations.stored_settings(take.parameters))
        plan = narrator.plan(take.text or "")
        if len(plan) != len(kept):
            raise ValueError(f"Take #{take.id} was made with settings this version plans differently; speak it "
                             "again to fix it chunk by chunk.")
        return [(c.lead_s, c.pause_s) for c in plan]


def _was_matched(parameters: dict) -> bool:
    """Whether the narration was spoken through the voice matcher: its chunks are redone the same way."""
    match = narrations.stored_match(parameters)
    return match is not None and match.matched
