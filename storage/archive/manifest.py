"""The archive's manifest: its format constants, and turning a manifest read from an archive into
checked plain values (a `Plan`) before anything is written."""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .. import validate as check
from ..blobs import is_sha
from ..errors import StorageError
from .scripts import LexiconIn, ScriptIn, parse_lexicon, parse_scripts

FORMAT = "retake-project"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
AUDIO_DIR = "audio/"


@dataclass(frozen=True)
class ClipIn:
    position: int
    audio_sha: str
    sample_rate: int
    duration: float
    transcript: str | None
    source_name: str | None


@dataclass(frozen=True)
class EmbeddingIn:
    encoder: str
    dim: int
    vector: bytes
    updated_at: datetime


@dataclass(frozen=True)
class VoiceIn:
    ref: int
    name: str
    language: str
    created_at: datetime
    consent_statement: str
    consent_by: str
    consent_at: datetime
    clips: tuple[ClipIn, ...]
    embeddings: tuple[EmbeddingIn, ...]


@dataclass(frozen=True)
class TranscriptIn:
    engine_id: str | None
    language: str | None
    text: str
    words: tuple[tuple[str, float, float, float], ...]
    created_at: datetime


@dataclass(frozen=True)
class TakeIn:
    ref: int
    kind: str
    text: str | None
    voice_ref: int | None
    engine_id: str | None
    engine_revision: str | None
    parameters: dict[str, Any]
    seed: int | None
    parent_ref: int | None
    scores: dict[str, Any]
    audio_sha: str
    duration: float
    sample_rate: int
    created_at: datetime
    starred: bool
    transcript: TranscriptIn | None


@dataclass(frozen=True)
class Plan:
    name: str
    voices: tuple[VoiceIn, ...]
    takes: tuple[TakeIn, ...]
    scripts: tuple[ScriptIn, ...] = ()
    lexicon: tuple[LexiconIn, ...] = ()

    @property
    def shas(self) -> list[str]:
        found = {c.audio_sha for v in self.voices for c in v.clips} | {t.audio_sha for t in self.takes}
        return sorted(found)


def parse(manifest: Any, name: str | None) -> Plan:
    """Turn the manifest into checked plain values; any problem becomes one StorageError."""
    try:
        return _parse_unchecked(manifest, name)
    except StorageError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise StorageError(f"invalid project archive: {detail}") from None


def _parse_unchecked(manifest: Any, name: str | None) -> Plan:
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise StorageError("not a Retake project archive")
    version = manifest.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
        raise StorageError(f"archive format version {version!r} is not supported by this Retake")

    project = _obj(manifest["project"], "project")
    project_name = check.clean_name(name if name is not None else project["name"], "project name")

    voices: list[VoiceIn] = []
    for raw in _list(manifest["voices"], "voices"):
        v = _obj(raw, "voice")
        consent = _consent(v.get("consent"), v.get("name"))
        clips = tuple(_clip(_obj(c, "clip")) for c in _list(v["clips"], "clips"))
        if not clips:
            raise ValueError(f"voice {v['name']!r} has no clips")
        if len({c.position for c in clips}) != len(clips):
            raise ValueError(f"voice {v['name']!r} has two clips at one position")
        embeddings = tuple(_embedding(_obj(e, "embedding")) for e in _list(v["embeddings"], "embeddings"))
        if len({e.encoder for e in embeddings}) != len(embeddings):
            raise ValueError(f"voice {v['name']!r} has two embeddings from one encoder")
        voices.append(
            VoiceIn(
                ref=_ref(v["ref"]),
                name=check.clean_name(v["name"], "voice name"),
                language=check.clean_name(v["language"], "language", max_len=32),
                created_at=_time(v["created_at"]),
                consent_statement=check.clean_name(consent["statement"], "consent statement", 100_000),
                consent_by=check.clean_name(consent["confirmed_by"], "consent confirmed_by"),
                consent_at=_time(consent["confirmed_at"]),
                clips=clips,
                embeddings=embeddings,
            )
        )
    voice_refs = [v.ref for v in voices]
    if len(set(voice_refs)) != len(voice_refs):
        raise ValueError("two voices share one ref")
    if len({v.name for v in voices}) != len(voices):
        raise ValueError("two voices share one name")

    takes = tuple(_take(_obj(t, "take")) for t in _list(manifest["takes"], "takes"))
    take_refs = {t.ref for t in takes}
    if len(take_refs) != len(takes):
        raise ValueError("two takes share one ref")
    for t in takes:
        if t.voice_ref is not None and t.voice_ref not in voice_refs:
            raise ValueError(f"take {t.ref} refers to unknown voice {t.voice_ref}")
        if t.parent_ref is not None and t.parent_ref not in take_refs:
            raise ValueError(f"take {t.ref} refers to unknown parent take {t.parent_ref}")
    scripts = parse_scripts(manifest.get("scripts"), voice_refs, take_refs)
    return Plan(name=project_name, voices=tuple(voices), takes=takes, scripts=scripts,
                lexicon=parse_lexicon(manifest.get("lexicon")))


def _consent(value: Any, voice: Any) -> dict[str, Any]:
    """A voice's consent record, refused unless it is whole: who confirmed what, and when (not in the
    future); a `given` field, where present, must be exactly true. An archive is not trusted to have
    kept the rule that a voice needs consent."""
    if not isinstance(value, dict) or not all(
        isinstance(value.get(k), str) and value[k].strip() for k in ("statement", "confirmed_by", "confirmed_at")
    ):
        raise StorageError(f"voice {voice!r} in the archive has no valid consent record; a voice is only "
                           "kept with the speaker's recorded consent. Nothing was imported.")
    if "given" in value and value["given"] is not True:
        raise StorageError(f"voice {voice!r} in the archive records that consent was not given. "
                           "Nothing was imported.")
    if _time(value["confirmed_at"]) > datetime.now(UTC):
        raise StorageError(f"voice {voice!r} in the archive has a consent dated in the future. Nothing was imported.")
    return value


def _obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{what} must be an object")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"{what} must be a list")
    return value


def _ref(value: Any) -> int:
    return check.positive_int(value, "ref")


def _optional_ref(value: Any) -> int | None:
    return None if value is None else _ref(value)


def _time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("timestamps must be ISO 8601 text")
    return check.aware(datetime.fromisoformat(value), "timestamp")


def _sha(value: Any) -> str:
    if not isinstance(value, str) or not is_sha(value):
        raise ValueError(f"bad audio_sha {value!r}")
    return value


def _clip(c: dict[str, Any]) -> ClipIn:
    position = c["position"]
    if isinstance(position, bool) or not isinstance(position, int) or position < 0:
        raise ValueError("clip position must be a non-negative integer")
    return ClipIn(
        position=position,
        audio_sha=_sha(c["audio_sha"]),
        sample_rate=check.positive_int(c["sample_rate"], "sample_rate"),
        duration=check.duration(c["duration"]),
        transcript=check.optional_text(c.get("transcript"), "transcript"),
        source_name=check.optional_text(c.get("source_name"), "source_name", 255),
    )


def _embedding(e: dict[str, Any]) -> EmbeddingIn:
    if e.get("dtype", "float32-le") != "float32-le":
        raise ValueError(f"unsupported embedding dtype {e.get('dtype')!r}")
    dim = check.positive_int(e["dim"], "embedding dim")
    try:
        vector = base64.b64decode(e["vector"], validate=True)
    except (binascii.Error, TypeError):
        raise ValueError("embedding vector is not base64") from None
    if len(vector) != dim * 4:
        raise ValueError(f"embedding has {len(vector)} bytes, expected {dim * 4}")
    return EmbeddingIn(
        encoder=check.clean_name(e["encoder"], "encoder name", max_len=100),
        dim=dim,
        vector=vector,
        updated_at=_time(e["updated_at"]),
    )


def _transcript(value: Any, ref: int) -> TranscriptIn | None:
    """A take's transcript, checked exactly as Store.set_transcript checks one; None when the
    archive has none for the take (archives made before transcripts existed have none at all)."""
    if value is None:
        return None
    try:
        fields = _obj(value, "transcript")
        return TranscriptIn(
            engine_id=check.optional_text(fields.get("engine_id"), "engine_id", 100),
            language=check.optional_text(fields.get("language"), "language", 32),
            text=check.transcript_text(fields["text"]),
            words=check.transcript_words(fields["words"]),
            created_at=_time(fields["created_at"]),
        )
    except KeyError as exc:
        raise ValueError(f"take {ref} transcript: missing field {exc}") from None
    except (ValueError, TypeError) as exc:
        raise ValueError(f"take {ref} transcript: {exc}") from None


def _take(t: dict[str, Any]) -> TakeIn:
    starred = t["starred"]
    if not isinstance(starred, bool):
        raise ValueError("take starred must be true or false")
    ref = _ref(t["ref"])
    return TakeIn(
        ref=ref,
        kind=check.clean_name(t["kind"], "take kind", max_len=32),
        text=check.optional_text(t.get("text"), "text"),
        voice_ref=_optional_ref(t.get("voice_ref")),
        engine_id=check.optional_text(t.get("engine_id"), "engine_id", 100),
        engine_revision=check.optional_text(t.get("engine_revision"), "engine_revision", 100),
        parameters=check.json_dict(t.get("parameters"), "parameters"),
        seed=check.seed(t.get("seed")),
        parent_ref=_optional_ref(t.get("parent_ref")),
        scores=check.json_dict(t.get("scores"), "scores"),
        audio_sha=_sha(t["audio_sha"]),
        duration=check.duration(t["duration"]),
        sample_rate=check.positive_int(t["sample_rate"], "sample_rate"),
        created_at=_time(t["created_at"]),
        starred=starred,
        transcript=_transcript(t.get("transcript"), ref),
    )
