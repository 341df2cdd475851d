"""Voice matching: a voice (or a recording) as an engine gets it, and the built-in speaker of a fixed-voice
engine that sounds closest to it.

Fixed-voice engines cannot imitate a voice. Asked for one anyway (to speak in a stored voice, or to insert
words into a recording), the studio picks the engine's built-in speaker whose probe sentence sounds most
like it (Resemblyzer similarity) and says so: "closest built-in voice, not a clone". Speaker embeddings are
costly, so a voice's embedding and its closest speaker per engine are kept in the store, and probes and
recordings' embeddings are kept in memory."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import cast

import numpy as np

from pipelines import audio as au
from pipelines.base import VoicePrompt
from pipelines.catalog import Engine
from pipelines.manager import ModelManager
from pipelines.scoring import Scorer
from pipelines.speak import SpeakPipeline
from pipelines.speaker import SpeakerEncoder, similarity
from storage import Store, Take

from .media import Media, Progress

ENCODER = "resemblyzer"
PROBE_TEXT = "The quick brown fox jumps over the lazy dog, and then it rests in the warm afternoon sun."
PROBE_SEED = 0
CLOSEST_LABEL = "closest built-in voice, not a clone"
RECORDINGS_KEPT = 8  # recordings' embeddings kept in memory (each edit of one take needs it again)


@dataclass(frozen=True)
class VoiceMatch:
    """For a fixed-voice engine asked for a voice: the built-in speaker chosen and how alike they sound."""

    speaker: str
    similarity: float
    label: str = CLOSEST_LABEL


class VoiceMatcher:
    """Voice prompts with their speaker embedding, and the closest built-in speaker of an engine."""

    def __init__(self, store: Store, models: ModelManager, media: Media) -> None:
        self.store = store
        self.models = models
        self.media = media
        self._probes: dict[tuple[str, str, str], np.ndarray] = {}
        self._recordings: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def prompt(self, voice_id: int, progress: Progress | None = None) -> VoicePrompt:
        """The voice's clips, transcripts and Resemblyzer embedding (computed once, then read from the store)."""
        voice = self.store.get_voice(voice_id)
        if not voice.clips:
            raise ValueError(f"Voice '{voice.name}' has no reference clips; add a recording first.")
        clips = tuple(self.media.audio(c.audio_sha) for c in voice.clips)
        transcripts = tuple(c.transcript for c in voice.clips)
        embedding = self.store.get_embedding(voice_id, ENCODER)
        if embedding is None:
            encoder = cast(SpeakerEncoder, self.models.get(ENCODER, progress))
            embedding = Scorer(encoder).reference_for(VoicePrompt(clips=clips))
            if embedding is None:
                raise ValueError(f"Voice '{voice.name}' has too little speech for a speaker embedding.")
            self.store.set_embedding(voice_id, ENCODER, embedding)
        return VoicePrompt(clips=clips, transcripts=transcripts, embeddings={ENCODER: embedding})

    def language(self, voice_id: int | None) -> str:
        """The language speech in this voice is checked in: the voice's, else English."""
        if voice_id is None:
            return "en"
        return self.store.get_voice(voice_id).language or "en"

    def recording_prompt(self, take: Take, audio: au.Audio) -> VoicePrompt:
        """A recording itself as the voice to match, with its embedding (kept in memory per audio file)."""
        return VoicePrompt(clips=(audio,), embeddings={ENCODER: self.recording_embedding(take.audio_sha, audio)})

    def closest_speaker(self, engine_id: str, prompt: VoicePrompt, voice_id: int | None = None) -> VoiceMatch:
        """The fixed-voice engine's built-in speaker most like the voice (closest built-in voice, not a clone).
        For a stored voice (`voice_id`) it is looked for once per engine weights and kept in the store: the
        search speaks a probe sentence in every built-in speaker, seconds for an engine with dozens."""
        engine = self.media.engine(engine_id, "speak")
        pipeline = self._pipeline(engine)
        speakers = pipeline.speakers()
        key = f"{engine.id}@{engine.weights_revision()}"
        if voice_id is not None and (known := self.store.get_voice_match(voice_id, key)) is not None:
            if known[0] in speakers:
                return VoiceMatch(known[0], known[1])
        target = prompt.embeddings[ENCODER]
        scored = [(similarity(self.speaker_embedding(engine, name), target), name) for name in speakers]
        if not scored:
            raise ValueError(f"{engine.name} lists no built-in speakers to choose from.")
        best, name = max(scored)
        if voice_id is not None:
            self.store.set_voice_match(voice_id, key, name, round(best, 4))
        return VoiceMatch(name, round(best, 4))

    def speaker_embedding(self, engine: Engine, speaker: str) -> np.ndarray:
        """Embedding of one probe sentence in a built-in speaker, cached in memory per engine and speaker."""
        key = (engine.id, engine.weights_revision(), speaker)
        with self._lock:
            if key in self._probes:
                return self._probes[key]
        audio = self._pipeline(engine)(PROBE_TEXT, seed=PROBE_SEED, speaker=speaker)
        vector = self._encode(au.trim_silence(audio))
        with self._lock:
            self._probes[key] = vector
        return vector

    def recording_embedding(self, sha: str, audio: au.Audio) -> np.ndarray:
        """The recording's speaker embedding, kept in memory per audio file: a minute of speech takes the
        encoder a noticeable fraction of a second, and every edit of the same take needs it again."""
        with self._lock:
            if sha in self._recordings:
                return self._recordings[sha]
        vector = self._encode(au.trim_silence(audio))
        with self._lock:
            self._recordings[sha] = vector
            while len(self._recordings) > RECORDINGS_KEPT:
                self._recordings.pop(next(iter(self._recordings)))
        return vector

    def embed(self, audio: au.Audio) -> np.ndarray:
        """The speaker embedding of any audio (e.g. words just inserted into a recording)."""
        return self._encode(audio)

    def _encode(self, audio: au.Audio) -> np.ndarray:
        return cast(SpeakerEncoder, self.models.get(ENCODER))(audio)

    def _pipeline(self, engine: Engine) -> SpeakPipeline:
        return cast(SpeakPipeline, self.models.get(engine.id))
