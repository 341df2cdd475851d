"""Writes to narration scripts, their segments, the takes linked to segments and the project lexicon: the
part of a unit of work that scripts need (`UnitOfWork` inherits it), kept apart so each module stays short.

Positions are 0-based and contiguous within a script after every write. A locked segment is a line someone
has approved: its text, voice, engine and chosen take stay as they are until it is unlocked."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from . import validate as check
from .blobs import BlobStore
from .errors import NotFoundError
from .lookups import (
    chosen_hash,
    delete_rows,
    require_in_project,
    require_project,
    require_script,
    require_segment,
    require_take,
)
from .mapping import lexicon_record, script_record, segment_record
from .models import LexiconRow, ScriptRow, SegmentRow, SegmentTakeRow, TakeRow, VoiceRow
from .records import (
    UNSET,
    LexiconEntry,
    NewSegment,
    NewTake,
    NewTranscript,
    Script,
    ScriptSegment,
    Take,
    Unset,
)

MAX_SEGMENTS = check.MAX_SEGMENTS


class ScriptWrites:
    """Script writes inside one open transaction (see storage.unit_of_work)."""

    session: Session
    blobs: BlobStore
    now: Callable[[], datetime]

    if TYPE_CHECKING:  # provided by UnitOfWork
        def add_take(self, project_id: int, take: NewTake, transcript: NewTranscript | None = None) -> Take: ...

    # ------------------------------------------------------------------ scripts

    def create_script(self, project_id: int, name: str, source_format: str, segments: Sequence[NewSegment],
                      settings: dict[str, Any]) -> Script:
        """A script with all its lines, in the order given."""
        name = check.clean_name(name, "script name")
        fmt = check.source_format(source_format)
        options = check.json_dict(settings, "script settings")
        if not segments:
            raise ValueError("a script needs at least one segment")
        if len(segments) > MAX_SEGMENTS:
            raise ValueError(f"a script holds at most {MAX_SEGMENTS} segments; this one has {len(segments)} "
                             "(split the document into several scripts)")
        lines = [self._checked(seg, i) for i, seg in enumerate(segments)]
        s = self.session
        require_project(s, project_id)
        for voice_id in sorted({seg.voice_id for seg in lines if seg.voice_id is not None}):
            require_in_project(s, VoiceRow, voice_id, project_id)
        now = self.now()
        script = ScriptRow(project_id=project_id, name=name, source_format=fmt, settings=options,
                           created_at=now, updated_at=now)
        s.add(script)
        s.flush()
        s.add_all(self._segment_row(script.id, i, seg, now) for i, seg in enumerate(lines))
        s.flush()
        return script_record(script)

    def rename_script(self, script_id: int, name: str) -> Script:
        name = check.clean_name(name, "script name")
        row = require_script(self.session, script_id)
        row.name, row.updated_at = name, self.now()
        self.session.flush()
        return script_record(row)

    def set_script_settings(self, script_id: int, settings: dict[str, Any]) -> Script:
        """Replace the settings whole (storage does not read them)."""
        options = check.json_dict(settings, "script settings")
        row = require_script(self.session, script_id)
        row.settings, row.updated_at = options, self.now()
        self.session.flush()
        return script_record(row)

    def delete_script(self, script_id: int) -> None:
        """Segments and their take links go; the takes stay, as takes of the project."""
        if delete_rows(self.session, delete(ScriptRow).where(ScriptRow.id == script_id)) == 0:
            raise NotFoundError(f"script {script_id} not found")

    # ------------------------------------------------------------------ segments

    def update_segment(
        self, segment_id: int, *, text: str | Unset = UNSET, voice_id: int | None | Unset = UNSET,
        engine_id: str | None | Unset = UNSET, speaker: str | None | Unset = UNSET,
        section: str | None | Unset = UNSET, pause_after_s: float | Unset = UNSET, locked: bool | Unset = UNSET,
    ) -> ScriptSegment:
        """Change only the fields given (None clears voice, engine, speaker or section). Text, voice and engine
        of a locked segment stay unless the same call unlocks it."""
        s = self.session
        row = require_segment(s, segment_id)
        changes: dict[str, Any] = {}
        if not isinstance(text, Unset):
            changes["text"] = check.segment_text(text)
        if not isinstance(voice_id, Unset):
            changes["voice_id"] = check.optional_id(voice_id, "voice id")
        if not isinstance(engine_id, Unset):
            changes["engine_id"] = check.optional_label(engine_id, "engine_id", 100)
        if not isinstance(speaker, Unset):
            changes["speaker"] = check.optional_label(speaker, "speaker", check.SPEAKER_MAX)
        if not isinstance(section, Unset):
            changes["section"] = check.optional_label(section, "section", check.SECTION_MAX)
        if not isinstance(pause_after_s, Unset):
            changes["pause_after_s"] = check.pause(pause_after_s)
        if not isinstance(locked, Unset):
            if not isinstance(locked, bool):
                raise ValueError("locked must be true or false")
            changes["locked"] = locked
        changes = {k: v for k, v in changes.items() if getattr(row, k) != v}
        if not changes:
            return segment_record(row, chosen_hash(s, row))
        guarded = sorted({"text", "voice_id", "engine_id"} & changes.keys())
        if guarded and row.locked and changes.get("locked", True):
            fields = ", ".join(g.removesuffix("_id") for g in guarded)
            raise ValueError(f"segment {segment_id} is locked; unlock it to change its {fields}")
        script = require_script(s, row.script_id)
        if changes.get("voice_id") is not None:
            require_in_project(s, VoiceRow, changes["voice_id"], script.project_id)
        for key, value in changes.items():
            setattr(row, key, value)
        self._touch(script, row)
        return segment_record(row, chosen_hash(s, row))

    def move_segment(self, segment_id: int, new_position: int) -> ScriptSegment:
        """Put the segment at `new_position`; the ones between close up or make room."""
        s = self.session
        row = require_segment(s, segment_id)
        count = self._count(row.script_id)
        target = self._position(new_position, count - 1)
        old = row.position
        if target != old:
            row.position = count  # parked past the end while the others shift
            s.flush()
            if target > old:
                self._shift(row.script_id, old + 1, target + 1, -1)
            else:
                self._shift(row.script_id, target, old, +1)
            row.position = target
            self._touch(require_script(s, row.script_id), row)
        return segment_record(row, chosen_hash(s, row))

    def split_segment(self, segment_id: int, at: int) -> tuple[ScriptSegment, ScriptSegment]:
        """Cut the text at character `at`: the first part stays (with its takes and chosen take, which no longer
        match its text), the second becomes a new segment right after it with the same voice, speaker, section
        and engine, and no takes."""
        s = self.session
        row = require_segment(s, segment_id)
        self._unlocked(row, "split")
        if isinstance(at, bool) or not isinstance(at, int):
            raise ValueError("the split position must be a whole number of characters")
        cut = at
        first, second = row.text[:cut].strip(), row.text[cut:].strip()
        if not 0 < cut < len(row.text) or not first or not second:
            raise ValueError(f"cannot split segment {segment_id} at character {at}: both parts need some text")
        count = self._count(row.script_id)
        if count >= MAX_SEGMENTS:
            raise ValueError(f"a script holds at most {MAX_SEGMENTS} segments")
        script = require_script(s, row.script_id)
        self._shift(row.script_id, row.position + 1, None, +1)
        row.text = first
        now = self._touch(script, row)
        spec = NewSegment(text=second, section=row.section, speaker=row.speaker, voice_id=row.voice_id,
                          engine_id=row.engine_id, pause_after_s=row.pause_after_s)
        new = self._segment_row(row.script_id, row.position + 1, spec, now)
        s.add(new)
        s.flush()
        return segment_record(row, chosen_hash(s, row)), segment_record(new, None)

    def merge_segments(self, first_id: int) -> ScriptSegment:
        """Join the segment with the one after it (text joined with a space, the second's pause after it); the
        first keeps its takes, the second is deleted with its take links."""
        s = self.session
        row = require_segment(s, first_id)
        nxt = s.scalar(select(SegmentRow).where(SegmentRow.script_id == row.script_id,
                                                SegmentRow.position == row.position + 1))
        if nxt is None:
            raise ValueError(f"segment {first_id} is the last of its script; there is nothing after it to merge")
        self._unlocked(row, "merge")
        self._unlocked(nxt, "merge")
        text = f"{row.text} {nxt.text}"
        if len(text) > check.SEGMENT_TEXT_MAX:
            raise ValueError(f"the merged segment would have {len(text)} characters; at most "
                             f"{check.SEGMENT_TEXT_MAX} fit in one")
        row.text, row.pause_after_s = text, nxt.pause_after_s
        s.delete(nxt)
        s.flush()
        self._shift(row.script_id, row.position + 2, None, -1)
        self._touch(require_script(s, row.script_id), row)
        return segment_record(row, chosen_hash(s, row))

    def insert_segment(self, script_id: int, position: int, segment: NewSegment) -> ScriptSegment:
        """A new line at `position` (0 to the number of segments: the end); later ones move down one."""
        spec = self._checked(segment, None)
        s = self.session
        script = require_script(s, script_id)
        count = self._count(script_id)
        if count >= MAX_SEGMENTS:
            raise ValueError(f"a script holds at most {MAX_SEGMENTS} segments")
        target = self._position(position, count)
        if spec.voice_id is not None:
            require_in_project(s, VoiceRow, spec.voice_id, script.project_id)
        self._shift(script_id, target, None, +1)
        row = self._segment_row(script_id, target, spec, self.now())
        s.add(row)
        s.flush()
        self._touch(script, None)
        return segment_record(row, None)

    def delete_segment(self, segment_id: int) -> None:
        """The segment and its take links (not the takes); later segments move up one."""
        s = self.session
        row = require_segment(s, segment_id)
        self._unlocked(row, "delete")
        if self._count(row.script_id) == 1:
            raise ValueError(f"segment {segment_id} is the only one of its script; delete the script instead")
        script_id, position = row.script_id, row.position
        s.delete(row)
        s.flush()
        self._shift(script_id, position + 1, None, -1)
        self._touch(require_script(s, script_id), None)

    # ------------------------------------------------------------------ segment takes

    def add_segment_take(self, segment_id: int, take: NewTake, content_hash: str, *, choose: bool = True,
                         transcript: NewTranscript | None = None) -> Take:
        """A new take of the segment's project, linked to the segment (and chosen, with `choose`), at once.
        The checks that need the database come before the audio is stored, so a refusal leaves no blob."""
        digest = check.content_hash(content_hash)
        checked = check.take(take)
        s = self.session
        row = require_segment(s, segment_id)
        if choose:
            self._unlocked(row, "choose a take for")
        script = require_script(s, row.script_id)
        for table, ref in ((VoiceRow, checked.voice_id), (TakeRow, checked.parent_id)):
            if ref is not None:
                require_in_project(s, table, ref, script.project_id)
        made = self.add_take(script.project_id, checked, transcript)
        s.add(SegmentTakeRow(segment_id=row.id, take_id=made.id, content_hash=digest, created_at=self.now()))
        if choose:
            row.chosen_take_id = made.id
            self._touch(script, row)
        s.flush()
        return made

    def link_segment_take(self, segment_id: int, take_id: int, content_hash: str) -> None:
        """Link an existing take of the same project (e.g. made in the Speak tab); linking it again updates
        the hash it was made from."""
        digest = check.content_hash(content_hash)
        s = self.session
        row = require_segment(s, segment_id)
        require_in_project(s, TakeRow, take_id, require_script(s, row.script_id).project_id)
        link = s.get(SegmentTakeRow, (segment_id, take_id))
        if link is None:
            s.add(SegmentTakeRow(segment_id=segment_id, take_id=take_id, content_hash=digest, created_at=self.now()))
        else:
            link.content_hash = digest
        s.flush()

    def choose_segment_take(self, segment_id: int, take_id: int) -> ScriptSegment:
        """Make one of the segment's linked takes the one rendered."""
        s = self.session
        row = require_segment(s, segment_id)
        require_take(s, take_id)
        if s.get(SegmentTakeRow, (segment_id, take_id)) is None:
            raise ValueError(f"take {take_id} is not a take of segment {segment_id}; link it first")
        if row.chosen_take_id != take_id:
            self._unlocked(row, "choose a take for")
            row.chosen_take_id = take_id
            self._touch(require_script(s, row.script_id), row)
        return segment_record(row, chosen_hash(s, row))

    # ------------------------------------------------------------------ lexicon

    def set_lexicon_entry(self, project_id: int, word: str, respelling: str) -> LexiconEntry:
        """Add the word's respelling, or replace it (words match whatever their case)."""
        word = check.clean_name(word, "word", max_len=check.WORD_MAX)
        spoken = check.clean_name(respelling, "respelling", max_len=check.RESPELLING_MAX)
        key = check.clean_name(word.lower(), "word", max_len=check.WORD_MAX)
        s = self.session
        require_project(s, project_id)
        row = s.scalar(select(LexiconRow).where(LexiconRow.project_id == project_id, LexiconRow.word_key == key))
        now = self.now()
        if row is None:
            row = LexiconRow(project_id=project_id, word=word, word_key=key, respelling=spoken, created_at=now,
                             updated_at=now)
            s.add(row)
        else:
            row.word, row.respelling, row.updated_at = word, spoken, now
        s.flush()
        return lexicon_record(row)

    def delete_lexicon_entry(self, project_id: int, word: str) -> None:
        key = check.clean_name(word, "word", max_len=check.WORD_MAX).lower()
        require_project(self.session, project_id)
        stmt = delete(LexiconRow).where(LexiconRow.project_id == project_id, LexiconRow.word_key == key)
        if delete_rows(self.session, stmt) == 0:
            raise NotFoundError(f"the lexicon has no entry for {word.strip()!r}")

    # ------------------------------------------------------------------ helpers

    def _checked(self, segment: NewSegment, index: int | None) -> NewSegment:
        try:
            return check.segment(segment)
        except ValueError as exc:
            if index is None:
                raise
            raise ValueError(f"segment {index + 1}: {exc}") from None

    def _segment_row(self, script_id: int, position: int, spec: NewSegment, now: datetime) -> SegmentRow:
        return SegmentRow(script_id=script_id, position=position, section=spec.section, speaker=spec.speaker,
                          voice_id=spec.voice_id, engine_id=spec.engine_id, text=spec.text,
                          pause_after_s=spec.pause_after_s, chosen_take_id=None, locked=False, created_at=now,
                          updated_at=now)

    def _unlocked(self, row: SegmentRow, action: str) -> None:
        if row.locked:
            raise ValueError(f"segment {row.id} is locked; unlock it to {action} it")

    def _count(self, script_id: int) -> int:
        return int(self.session.scalar(select(func.count(SegmentRow.id)).where(SegmentRow.script_id == script_id)) or 0)

    @staticmethod
    def _position(value: object, last: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= last:
            raise ValueError(f"position must be a whole number from 0 to {last}")
        return value

    def _shift(self, script_id: int, lo: int, hi: int | None, delta: int) -> None:
        """Move the segments at positions lo <= p < hi by `delta`, through negative numbers: the unique
        (script, position) is checked row by row, so a plain `position + 1` could collide halfway."""
        s = self.session
        s.flush()
        where = [SegmentRow.script_id == script_id, SegmentRow.position >= lo]
        if hi is not None:
            where.append(SegmentRow.position < hi)
        s.execute(update(SegmentRow).where(*where).values(position=-(SegmentRow.position + delta) - 1)
                  .execution_options(synchronize_session="fetch"))
        s.execute(update(SegmentRow).where(SegmentRow.script_id == script_id, SegmentRow.position < 0)
                  .values(position=-SegmentRow.position - 1).execution_options(synchronize_session="fetch"))

    def _touch(self, script: ScriptRow, row: SegmentRow | None) -> datetime:
        now = self.now()
        script.updated_at = now
        if row is not None:
            row.updated_at = now
        self.session.flush()
        return now
