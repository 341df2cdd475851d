"""A unit of work: several writes that become visible together or not at all.

    with store.unit_of_work() as uow:
        speech = uow.add_take(project_id, narration)
        for attempt in attempts:
            uow.add_take(project_id, replace(attempt, parent_id=speech.id))

Each write checks its input first, then stores any audio in the blob store, then adds its rows to
one open transaction; leaving the block commits them, an exception rolls every row back. A rolled
back unit of work leaves at most unreferenced blobs, which `Store.collect_garbage` removes, never a
row whose audio is missing nor part of a whole (a narration without some of its attempts).

Records returned inside the block carry their new ids, so later writes can refer to them; they
describe committed data only once the block has been left without an exception."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from . import validate as check
from .blobs import BlobStore
from .errors import ConflictError, NotFoundError
from .lookups import (
    delete_rows,
    embedding_row,
    project_exists,
    require_in_project,
    require_project,
    require_take,
    require_voice,
    voice_exists,
    voice_match_row,
    voice_name_taken,
)
from .mapping import (
    loaded_voice_record,
    project_record,
    take_record,
    transcript_record,
    voice_record,
)
from .models import (
    ClipRow,
    EmbeddingRow,
    ProjectRow,
    TakeRow,
    TakeTranscriptRow,
    VoiceMatchRow,
    VoiceRow,
)
from .records import (
    Consent,
    NewClip,
    NewTake,
    NewTranscript,
    Project,
    Take,
    TakeTranscript,
    Voice,
)
from .script_writes import ScriptWrites

ENCODER_MAX = 100
ENGINE_KEY_MAX = 300

Clock = Callable[[], datetime]


class UnitOfWork(ScriptWrites):
    """The writes of one transaction; made by `Store.unit_of_work()`, which commits or rolls back. Scripts,
    segments and the lexicon: see `ScriptWrites`."""

    def __init__(self, session: Session, blobs: BlobStore, clock: Clock) -> None:
        self.session = session
        self.blobs = blobs
        self.now = clock

    # ------------------------------------------------------------------ projects

    def create_project(self, name: str) -> Project:
        name = check.clean_name(name, "project name")
        s = self.session
        if s.scalar(select(ProjectRow.id).where(ProjectRow.name == name)) is not None:
            raise ConflictError(project_exists(name))
        row = ProjectRow(name=name, created_at=self.now())
        s.add(row)
        s.flush()
        return project_record(row)

    def rename_project(self, project_id: int, name: str) -> Project:
        name = check.clean_name(name, "project name")
        row = require_project(self.session, project_id)
        if row.name != name:
            if self.session.scalar(select(ProjectRow.id).where(ProjectRow.name == name)) is not None:
                raise ConflictError(project_exists(name))
            row.name = name
            self.session.flush()
        return project_record(row)

    def delete_project(self, project_id: int) -> None:
        """The project with its voices and takes (their audio goes at the next collect_garbage)."""
        if delete_rows(self.session, delete(ProjectRow).where(ProjectRow.id == project_id)) == 0:
            raise NotFoundError(f"project {project_id} not found")

    # ------------------------------------------------------------------ voices

    def create_voice(
        self, project_id: int, name: str, language: str, clips: Sequence[NewClip], consent: Consent
    ) -> Voice:
        """A voice needs at least one reference clip and a recorded consent."""
        name = check.clean_name(name, "voice name")
        language = check.clean_name(language, "language", max_len=32)
        if not clips:
            raise ValueError("a voice needs at least one reference clip")
        consent = check.consent(consent)
        checked = [check.clip(c) for c in clips]
        shas = [self.blobs.put(c.audio) for c in checked]  # blobs first, then rows
        s = self.session
        require_project(s, project_id)
        if voice_name_taken(s, project_id, name):
            raise ConflictError(voice_exists(name))
        voice = VoiceRow(
            project_id=project_id,
            name=name,
            language=language,
            consent_statement=consent.statement,
            consent_by=consent.confirmed_by,
            consent_at=consent.confirmed_at,
            created_at=self.now(),
        )
        s.add(voice)
        s.flush()
        clip_rows = [
            ClipRow(
                voice_id=voice.id,
                position=i,
                audio_sha=sha,
                sample_rate=c.sample_rate,
                duration=c.duration,
                transcript=c.transcript,
                source_name=c.source_name,
            )
            for i, (c, sha) in enumerate(zip(checked, shas, strict=True))
        ]
        s.add_all(clip_rows)
        s.flush()
        return voice_record(voice, clip_rows, ())

    def rename_voice(self, voice_id: int, name: str) -> Voice:
        name = check.clean_name(name, "voice name")
        row = require_voice(self.session, voice_id, loaded=True)
        if row.name != name:
            if voice_name_taken(self.session, row.project_id, name):
                raise ConflictError(voice_exists(name))
            row.name = name
            self.session.flush()
        return loaded_voice_record(row)

    def delete_voice(self, voice_id: int) -> None:
        """Clips and embeddings go with the voice (ON DELETE CASCADE); its takes stay, with
        voice_id set to None (ON DELETE SET NULL), because a take is still a take."""
        if delete_rows(self.session, delete(VoiceRow).where(VoiceRow.id == voice_id)) == 0:
            raise NotFoundError(f"voice {voice_id} not found")

    def set_clip_transcript(self, voice_id: int, clip_id: int, transcript: str) -> None:
        """Write the words of one of the voice's clips (e.g. transcribed for an engine that needs them)."""
        text = check.optional_text(transcript, "clip transcript")
        row = self.session.get(ClipRow, clip_id)
        if row is None or row.voice_id != voice_id:
            raise NotFoundError(f"voice {voice_id} has no clip {clip_id}")
        row.transcript = text

    def set_embedding(self, voice_id: int, encoder: str, vector: np.ndarray) -> None:
        """Store (or replace) the voice's embedding from `encoder`, as float32."""
        encoder = check.clean_name(encoder, "encoder name", max_len=ENCODER_MAX)
        values = check.vector(vector)
        require_voice(self.session, voice_id)
        row = embedding_row(self.session, voice_id, encoder)
        if row is None:
            row = EmbeddingRow(voice_id=voice_id, encoder=encoder)
            self.session.add(row)
        row.dim = int(values.size)
        row.vector = values.tobytes()
        row.updated_at = self.now()

    def set_voice_match(self, voice_id: int, engine_key: str, speaker: str, similarity: float) -> None:
        """Store (or replace) the voice's closest built-in speaker for the engine `engine_key`."""
        engine_key = check.clean_name(engine_key, "engine key", max_len=ENGINE_KEY_MAX)
        speaker = check.clean_name(speaker, "speaker name")
        require_voice(self.session, voice_id)
        row = voice_match_row(self.session, voice_id, engine_key)
        if row is None:
            row = VoiceMatchRow(voice_id=voice_id, engine_key=engine_key)
            self.session.add(row)
        row.speaker, row.similarity, row.updated_at = speaker, float(similarity), self.now()

    # ------------------------------------------------------------------ takes

    def add_take(self, project_id: int, take: NewTake, transcript: NewTranscript | None = None) -> Take:
        """Keep a take (with its transcript, if given). Its voice and parent, if given, must belong to
        the same project; the parent may be a take added earlier in this unit of work."""
        checked = check.take(take)
        words = None if transcript is None else check.transcript(transcript)
        sha = self.blobs.put(checked.audio)
        s = self.session
        require_project(s, project_id)
        if checked.voice_id is not None:
            require_in_project(s, VoiceRow, checked.voice_id, project_id)
        if checked.parent_id is not None:
            require_in_project(s, TakeRow, checked.parent_id, project_id)
        row = TakeRow(
            project_id=project_id,
            kind=checked.kind,
            text=checked.text,
            voice_id=checked.voice_id,
            engine_id=checked.engine_id,
            engine_revision=checked.engine_revision,
            parameters=checked.parameters,
            seed=checked.seed,
            parent_id=checked.parent_id,
            scores=checked.scores,
            audio_sha=sha,
            duration=checked.duration,
            sample_rate=checked.sample_rate,
            created_at=self.now(),
            starred=False,
        )
        s.add(row)
        s.flush()
        if words is not None:
            s.add(self._transcript_row(row.id, words))
            s.flush()
        return take_record(row)

    def set_starred(self, take_id: int, starred: bool) -> Take:
        row = require_take(self.session, take_id)
        row.starred = bool(starred)
        self.session.flush()
        return take_record(row)

    def delete_take(self, take_id: int) -> None:
        """Children keep existing with parent_id None (ON DELETE SET NULL); the transcript goes
        with the take (ON DELETE CASCADE); the audio goes at the next collect_garbage unless
        something else uses the same bytes."""
        if delete_rows(self.session, delete(TakeRow).where(TakeRow.id == take_id)) == 0:
            raise NotFoundError(f"take {take_id} not found")

    # ------------------------------------------------------------------ transcripts

    def set_transcript(self, take_id: int, transcript: NewTranscript) -> TakeTranscript:
        """What was said in the take, replacing any earlier transcript of it. A take that was stored without
        its words (an imported recording) takes the transcript's text as its own, so lists show what it says."""
        checked = check.transcript(transcript)
        s = self.session
        take = require_take(s, take_id)
        if take.text is None and checked.text.strip():
            take.text = checked.text
        old = s.get(TakeTranscriptRow, take_id)
        if old is not None:
            s.delete(old)
            s.flush()  # the DELETE must precede the INSERT of the same primary key
        row = self._transcript_row(take_id, checked)
        s.add(row)
        s.flush()
        return transcript_record(row)

    def _transcript_row(self, take_id: int, checked: NewTranscript) -> TakeTranscriptRow:
        return TakeTranscriptRow(
            take_id=take_id,
            engine_id=checked.engine_id,
            language=checked.language,
            text=checked.text,
            words=[list(w) for w in checked.words],
            created_at=self.now(),
        )
