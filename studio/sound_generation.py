"""Sounds made from a description: a text-to-audio engine makes a few candidates (one seed each), a CLAP model
ranks them by how well they match the prompt when one is on this machine, and all are kept as sound takes
(best first) with what made them, so the person picks by ear and can make the same sound again."""
from __future__ import annotations

from dataclasses import dataclass

from pipelines import audio as au
from pipelines.cancel import CancelToken, checkpoint
from pipelines.catalog import Engine
from pipelines.manager import ModelManager
from pipelines.seeds import SEED_LIMIT, check_seed, random_seed
from pipelines.sound import SoundPipeline
from pipelines.sound.placement import make_loopable
from pipelines.sound.ranking import SoundRanker
from storage import NewTake, Store, Take

from .media import Media, Progress, stepper

RANKER = "clap-htsat-unfused"
MAX_CANDIDATES = 4  # each is a full generation: more is slow on a CPU and hard to compare by ear
LOOP_CROSSFADE_S = 0.5


@dataclass(frozen=True)
class SoundRequest:
    """What to make: `seed` is the first candidate's (the others take the next seeds); `steps`/`guidance`
    None: the engine's defaults; `loop`: the end flows into the start, for beds repeated under a narration."""

    project_id: int
    prompt: str
    engine_id: str
    seconds: float = 5.0
    seed: int | None = None
    steps: int | None = None
    guidance: float | None = None
    candidates: int = 1
    loop: bool = False


@dataclass(frozen=True)
class Candidate:
    take: Take
    similarity: float | None  # CLAP text–audio cosine; None when no ranker was available


@dataclass(frozen=True)
class Generated:
    candidates: tuple[Candidate, ...]  # best match first when ranked, else in seed order
    ranked_by: str | None
    notices: tuple[str, ...]


class SoundGeneration:
    def __init__(self, store: Store, models: ModelManager, media: Media | None = None) -> None:
        self.store = store
        self.models = models
        self.media = media  # watermarks the sounds before they are stored

    def engines(self) -> list[Engine]:
        return self.models.catalog.for_task("sound")

    def generate(self, request: SoundRequest, progress: Progress | None = None,
                 cancel: CancelToken | None = None) -> Generated:
        """Make and keep the candidates in one transaction (a cancelled or failed run keeps none)."""
        step = stepper(progress)
        self.store.get_project(request.project_id)  # an unknown project fails before any model work
        count = request.candidates
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_CANDIDATES:
            raise ValueError(f"Candidates must be a whole number from 1 to {MAX_CANDIDATES}.")
        check_seed(request.seed)
        engine = self.models.catalog.get(request.engine_id)
        if engine.task != "sound":
            raise ValueError(f"{engine.name} does not make sounds from a description; choose a sound engine.")
        step(0.0, f"loading {engine.name}")
        generator = self.models.get(engine.id, lambda f, m: step(0.1 * f, m))
        if not isinstance(generator, SoundPipeline):
            raise ValueError(f"{engine.name} does not make sounds from a description; choose a sound engine.")
        # Checked before any model time is spent: an empty prompt or an impossible length fails at once.
        prompt, seconds, steps, guidance = generator.check_request(request.prompt, request.seconds, request.steps,
                                                                   request.guidance)
        first_seed = random_seed() if request.seed is None else int(request.seed)
        seeds = [(first_seed + index) % SEED_LIMIT for index in range(count)]
        sounds = []
        for index in range(count):
            share = 0.8 / count

            def report(fraction: float, index: int = index, share: float = share) -> None:
                checkpoint(cancel)  # raising here stops the engine between its steps
                step(0.1 + share * (index + fraction), f"making candidate {index + 1} of {count}")

            audio = generator(prompt, seconds=seconds, seed=seeds[index], steps=steps, guidance=guidance,
                              progress=report)
            sounds.append(make_loopable(audio, LOOP_CROSSFADE_S) if request.loop else audio)
        checkpoint(cancel)
        similarities, ranked_by, notices = self._rank(prompt, sounds, step)
        order = sorted(range(count), key=lambda i: -similarities[i]) if ranked_by else list(range(count))
        checkpoint(cancel)
        marks: dict = {}
        sounds = [self.media.mark(s, marks) for s in sounds] if self.media is not None else sounds
        kept = []
        with self.store.unit_of_work() as uow:
            for place, index in enumerate(order):
                audio = sounds[index]
                take = uow.add_take(request.project_id, NewTake(
                    kind="sound", audio=au.encode(audio, "flac"), sample_rate=audio.sample_rate,
                    duration=audio.duration, text=prompt, engine_id=engine.id,
                    engine_revision=engine.weights_revision(), seed=seeds[index],
                    parameters={"origin": "generated", "prompt": prompt, "seconds": seconds, "steps": steps,
                                "guidance": guidance, "loop": request.loop, "candidate": place + 1, "of": count,
                                **marks},
                    scores={"clap": round(similarities[index], 4)} if ranked_by else {}))
                kept.append(Candidate(take, similarities[index] if ranked_by else None))
        step(1.0, "done")
        return Generated(tuple(kept), ranked_by, notices)

    def _rank(self, prompt: str, sounds: list[au.Audio], step: Progress) -> tuple[list[float], str | None,
                                                                                    tuple[str, ...]]:
        """CLAP similarities, when the ranking model can be loaded without a download; otherwise seed order."""
        if not self._ranker_usable():
            notice = ("Candidates are in seed order: the CLAP model that ranks them by the prompt is not on this "
                      "machine (Models tab).",) if len(sounds) > 1 else ()
            return [0.0] * len(sounds), None, notice
        step(0.9, "ranking the candidates against the prompt")
        ranker = self.models.get(RANKER)
        if not isinstance(ranker, SoundRanker):
            raise ValueError(f"{RANKER} is not a sound ranker.")
        return ranker(prompt, sounds), RANKER, ()

    def _ranker_usable(self) -> bool:
        return self.models.usable(self.models.catalog.get(RANKER))
