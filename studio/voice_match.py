"""Voice matching: a voice (or a recording) as an engine gets it, and how a fixed-voice engine comes closest
to it.

Fixed-voice engines cannot imitate a voice. Asked for one anyway (to speak in a stored voice, or to insert
words into a recording), the studio either matches (the embedded voice matcher, `pipelines.convert.world`,
re-renders the built-in speaker towards the voice: "built-in voice matched to <voice>") or, without the
matcher, picks the built-in speaker whose probe sentence sounds most like it ("closest built-in voice, not a
clone"). Speaker embeddings and the choice of speaker per engine are kept in the store; probes, voice
profiles and recordings' embeddings are kept in memory."""
from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from typing import cast

import numpy as np

from pipelines import audio as au
from pipelines.base import VoicePrompt
from pipelines.catalog import Engine
from pipelines.convert.world import MatchSettings, VoiceProfile, WorldMatcher
from pipelines.manager import ModelManager
from pipelines.scoring import Scorer
from pipelines.speak import SpeakPipeline
from pipelines.speaker import SpeakerEncoder, similarity
from pipelines.transcribe import TranscribePipeline
from storage import Store, Take

from .media import TRANSCRIBER, Media, Progress

ENCODER = "resemblyzer"
PROBE_TEXT = "The quick brown fox jumps over the lazy dog, and then it rests in the warm afternoon sun."
PROBE_SEED = 0
CLOSEST_LABEL = "closest built-in voice, not a clone"
MATCHER = "world-matcher"  # the embedded voice matcher's catalog id
PROFILES_KEPT = 16  # voice profiles kept in memory (a profile is a few MB of envelopes)
RECORDINGS_KEPT = 8  # recordings' embeddings kept in memory (each edit of one take needs it again)
# Words spliced into a recording take half their timbre from its nearest frames, not the matcher's 0.75: on the
# tuning clips 0.75 raised the inserted stretch's similarity by 0.003 and lost one of 28 new words to the recogniser
INSERT_TIMBRE = 0.5


@dataclass(frozen=True)
class VoiceMatch:
    """For a fixed-voice engine asked for a voice: the built-in speaker chosen and how alike they sound."""

    speaker: str
    similarity: float
    label: str = CLOSEST_LABEL
    matched: bool = False  # the built-in speaker is re-rendered towards the voice by the voice matcher


def matched_label(voice_name: str) -> str:
    return f"built-in voice matched to {voice_name} (matched, not cloned)"


class VoiceMatcher:
    """Voice prompts with their speaker embedding, and the closest built-in speaker of an engine."""

    def __init__(self, store: Store, models: ModelManager, media: Media) -> None:
        self.store = store
        self.models = models
        self.media = media
        self._probes: dict[tuple[str, str, str], np.ndarray] = {}
        self._recordings: dict[str, np.ndarray] = {}
        self._probe_audio: dict[tuple[str, str, str], au.Audio] = {}
        self._profiles: dict[tuple, VoiceProfile] = {}
        self._lock = threading.Lock()

    def prompt(self, voice_id: int, progress: Progress | None = None, conditioning: str | None = None) -> VoicePrompt:
        """The voice's clips, transcripts and Resemblyzer embedding (computed once, then read from the store).
        `conditioning`: the speaker engine whose embedding an engine conditions on (the catalog's
        `speaker_embedding`), added the same way."""
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
        embeddings = {ENCODER: embedding}
        if conditioning is not None and conditioning != ENCODER:
            embeddings[conditioning] = self._conditioning(voice_id, clips, conditioning, progress)
        return VoicePrompt(clips=clips, transcripts=transcripts, embeddings=embeddings)

    def with_transcripts(self, voice_id: int, prompt: VoicePrompt, progress: Progress | None = None) -> VoicePrompt:
        """The prompt with every clip's words: clips stored without a transcript are transcribed (the embedded
        Whisper) and the words kept with the clip, for engines that clone from clips and their words."""
        voice = self.store.get_voice(voice_id)
        missing = [i for i, clip in enumerate(voice.clips) if not (clip.transcript or "").strip()]
        if not missing:
            return prompt
        transcriber = self.models.get(TRANSCRIBER, progress)
        if not isinstance(transcriber, TranscribePipeline):
            raise ValueError(f"{TRANSCRIBER} is not a transcriber.")
        transcripts = list(prompt.transcripts) + [None] * (len(prompt.clips) - len(prompt.transcripts))
        for index in missing:
            if progress:
                progress(0.04, f"transcribing clip {index + 1} of the voice '{voice.name}'")
            text = " ".join(transcriber(prompt.clips[index], language=voice.language or None).text.split())
            if not text:
                raise ValueError(f"No words were heard in clip {index + 1} of the voice '{voice.name}'; this engine "
                                 "needs the words of every clip. Type its transcript, or remove the clip.")
            self.store.set_clip_transcript(voice_id, voice.clips[index].id, text)
            transcripts[index] = text
        return dataclasses.replace(prompt, transcripts=tuple(transcripts))

    def _conditioning(self, voice_id: int, clips: tuple[au.Audio, ...], encoder_id: str,
                      progress: Progress | None) -> np.ndarray:
        """`conditioning` of the voice's clips, computed once per voice, then read from the store."""
        vector = self.store.get_embedding(voice_id, encoder_id)
        if vector is None:
            vector = self.conditioning(encoder_id, clips, progress)
            self.store.set_embedding(voice_id, encoder_id, vector)
        return vector

    def conditioning(self, encoder_id: str, clips: tuple[au.Audio, ...], progress: Progress | None = None
                     ) -> np.ndarray:
        """The embedding an engine conditions on (the catalog's `speaker_embedding`, a speaker engine's id) of
        `clips`: the mean of the clips' unit embeddings (long and short clips weigh the same), unit length."""
        encoder = self.models.get(encoder_id, progress)
        if not isinstance(encoder, SpeakerEncoder):
            raise ValueError(f"{encoder_id} is not a speaker encoder; the catalog's speaker_embedding must name one.")
        vectors = [np.asarray(encoder(clip), dtype=np.float64).reshape(-1) for clip in clips]
        mean = np.mean([v / max(float(np.linalg.norm(v)), 1e-12) for v in vectors], axis=0)
        return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)

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
        vector = self._encode(self.probe(engine, speaker))
        with self._lock:
            self._probes[key] = vector
        return vector

    def probe(self, engine: Engine, speaker: str) -> au.Audio:
        """The probe sentence in a built-in speaker (silence trimmed), cached in memory."""
        key = (engine.id, engine.weights_revision(), speaker)
        with self._lock:
            if key in self._probe_audio:
                return self._probe_audio[key]
        audio = au.trim_silence(self._pipeline(engine)(PROBE_TEXT, seed=PROBE_SEED, speaker=speaker))
        with self._lock:
            self._probe_audio[key] = audio
        return audio

    # ------------------------------------------------------------------ matching (pipelines.convert.world)

    def can_match(self) -> bool:
        """Whether the embedded voice matcher is installed (pyworld)."""
        return self.models.catalog.get(MATCHER).package_installed()

    def converter(self) -> WorldMatcher:
        return cast(WorldMatcher, self.models.get(MATCHER))

    def voice_profile(self, voice_id: int, prompt: VoicePrompt | None = None) -> VoiceProfile:
        """Pitch and timbre of a stored voice's clips, measured once per set of clips. `prompt`: the voice's
        prompt when the caller already has it, so its clips are not read and decoded again."""
        voice = self.store.get_voice(voice_id)
        key = ("voice", voice_id, tuple(c.audio_sha for c in voice.clips))
        return self._profile(key, lambda: (prompt or self.prompt(voice_id)).clips, f"Voice '{voice.name}'")

    def audio_profile(self, sha: str, audio: au.Audio, what: str = "The recording") -> VoiceProfile:
        """Pitch and timbre of one recording (a take to edit, a source to convert), kept per audio file."""
        return self._profile(("audio", sha), lambda: (audio,), what)

    def speaker_profile(self, engine: Engine, speaker: str) -> VoiceProfile:
        """Pitch and timbre of a built-in speaker, from its probe sentence."""
        key = ("speaker", engine.id, engine.weights_revision(), speaker)
        return self._profile(key, lambda: (self.probe(engine, speaker),), f"{engine.name} '{speaker}'")

    def matched_speaker(self, engine_id: str, voice_id: int, speaker: str | None = None) -> VoiceMatch:
        """The built-in speaker that, once matched to the voice, sounds most like it (Resemblyzer similarity
        of the matched probe sentence to the voice's clips), or `speaker` when the person chose one. Looked
        for once per voice, engine weights and matcher version, and kept in the store: it costs one
        conversion per built-in speaker."""
        engine = self.media.engine(engine_id, "speak")
        speakers = self._pipeline(engine).speakers()
        if not speakers:
            raise ValueError(f"{engine.name} lists no built-in speakers to choose from.")
        matcher = self.media.catalog.get(MATCHER)
        key = f"{engine.id}@{engine.weights_revision()}+{MATCHER}@{matcher.weights_revision()}"
        label = matched_label(self.store.get_voice(voice_id).name)
        known = self.store.get_voice_match(voice_id, key)
        if known is not None and known[0] in speakers and speaker in (None, known[0]):
            return VoiceMatch(known[0], known[1], label, matched=True)
        prompt = self.prompt(voice_id)
        target, embedding = self.voice_profile(voice_id, prompt), prompt.embeddings[ENCODER]
        scored = [(self._matched_similarity(engine, name, target, embedding), name)
                  for name in ([speaker] if speaker else speakers)]
        best, name = max(scored)
        if speaker is None:
            self.store.set_voice_match(voice_id, key, name, round(best, 4))
        return VoiceMatch(name, round(best, 4), label, matched=True)

    def _matched_similarity(self, engine: Engine, speaker: str, target: VoiceProfile,
                            embedding: np.ndarray) -> float:
        """How like the voice (its embedding) the speaker's probe sentence sounds once matched to it."""
        matched = self.converter().convert(self.probe(engine, speaker), target,
                                           source=self.speaker_profile(engine, speaker))
        return similarity(self._encode(matched), embedding)

    def recording_match(self, engine: Engine, take: Take, audio: au.Audio) -> "RecordingMatch":
        """How a fixed-voice engine's words are matched into a recording (Edit's inserted words): the
        built-in speaker closest in pitch to the recording, the recording's profile, and the speaker's
        natural speaking rate (for the speed that continues the recording's)."""
        target = self.audio_profile(take.audio_sha, audio)
        speakers = self._pipeline(engine).speakers()
        if not speakers:
            raise ValueError(f"{engine.name} lists no built-in speakers to choose from.")
        profiles = {name: self.speaker_profile(engine, name) for name in speakers}
        speaker = min(speakers, key=lambda name: abs(profiles[name].log_f0_mean - target.log_f0_mean))
        probe = self.probe(engine, speaker)
        words_per_second = len(PROBE_TEXT.split()) / max(probe.duration, 0.1)
        return RecordingMatch(speaker, self.converter(), profiles[speaker], target, words_per_second)

    def _profile(self, key: tuple, clips, what: str) -> VoiceProfile:
        with self._lock:
            if key in self._profiles:
                return self._profiles[key]
        profile = self.converter().profile(tuple(clips()), name=what)
        with self._lock:
            self._profiles[key] = profile
            while len(self._profiles) > PROFILES_KEPT:
                self._profiles.pop(next(iter(self._profiles)))
        return profile

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


@dataclass(frozen=True, eq=False)
class RecordingMatch:
    """A built-in speaker matched to a recording, for words spliced into it."""

    speaker: str
    converter: WorldMatcher
    source: VoiceProfile
    target: VoiceProfile
    words_per_second: float  # the built-in speaker's natural rate

    def speed(self, local_words_per_second: float, speed_range: tuple[float, float] | None) -> float | None:
        """The engine speed that continues the recording's local rate (kept within 0.8-1.25 and the engine's
        range), or None for an engine without speed control."""
        if speed_range is None or local_words_per_second <= 0:
            return None
        low, high = max(speed_range[0], 0.8), min(speed_range[1], 1.25)
        return round(float(np.clip(local_words_per_second / self.words_per_second, low, high)), 3)

    def render(self, speech: au.Audio, context: au.Audio, timbre: bool = True) -> au.Audio:
        """`speech` matched to the recording: its timbre (unless `timbre` is off: pitch and loudness only), and
        the pitch of `context` (the speech around the edit) so the new words continue the sentence's melody
        across the seam."""
        target = self.target
        try:
            local = self.converter.profile([context], name="The speech around the edit")
            target = dataclasses.replace(target, log_f0_mean=local.log_f0_mean, log_f0_std=local.log_f0_std)
        except ValueError:
            pass  # too little voiced speech nearby: the recording's overall pitch
        settings = (MatchSettings(keep_silence=False, timbre=INSERT_TIMBRE) if timbre else
                    MatchSettings(keep_silence=False, timbre=0.0, breath=0.0, warp_per_octave=0.0))
        return self.converter.convert(speech, target, source=self.source, settings=settings)
