"""An OpenAI-compatible speech endpoint (`POST /v1/audio/speech`, `GET /v1/audio/voices`, `GET /v1/models`) over
the Speak use case, so tools written for OpenAI's text-to-speech can use the studio's voices offline.

The routes are plain FastAPI routes served by the Gradio app's own server (`studio.ui.app.launch` hands them to
`Blocks.launch`), one process and one port. Every request is spoken by `Speak.speak` and kept as a take of the
first project, like the Speak tab's; errors are OpenAI-style JSON (`{"error": {...}}`), never tracebacks.
"""
from __future__ import annotations

import base64
import hmac
import json
import logging
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from pipelines import audio as au
from pipelines.audio.files import encode_with_ffmpeg
from pipelines.base import EngineError
from storage import QuotaExceeded, StorageError

from .narrations import SpeakEvent
from .config import Settings
from .service import Studio
from .speak import DEFAULT_ENGINE
from .users import acting_user, oauth_user

log = logging.getLogger("retake.openai")

OPENAI_MODELS = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts")  # spoken by the default embedded engine
MEDIA_TYPES = {"mp3": "audio/mpeg", "opus": "audio/ogg", "aac": "audio/aac", "flac": "audio/flac",
               "wav": "audio/wav", "pcm": "audio/pcm"}
MIN_SPEED, MAX_SPEED = 0.25, 4.0
STREAM_FORMATS = ("audio", "sse")
_FFMPEG_CODECS = ("opus", "aac")
BUSY_WAIT_S = 600.0  # how long a request waits for a free narration slot before a 503


class ApiError(Exception):
    """A request the endpoint refuses, with the HTTP status and OpenAI's error fields."""

    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None,
                 kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.kind = status, message, param, code, kind

    def response(self) -> JSONResponse:
        body = {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}
        headers = {"WWW-Authenticate": "Bearer"} if self.status == 401 else None
        return JSONResponse(body, status_code=self.status, headers=headers)


@dataclass(frozen=True)
class SpeechPlan:
    """A checked request: what the Speak use case gets, and how to hand the audio back."""
    project_id: int
    text: str
    engine_id: str
    voice_id: int | None
    speaker: str | None
    speed: float
    fmt: str
    stream_format: str | None  # "sse", or "audio" when chunks are sent as they are made, None for one file
    gate: bool


def encode(audio: au.Audio, fmt: str) -> bytes:
    """The audio in one of OpenAI's response formats; pcm is raw 16-bit little-endian mono at its own rate."""
    if fmt == "pcm":
        return (np.clip(audio.samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    if fmt in _FFMPEG_CODECS:
        return _ffmpeg(audio, fmt)
    return au.encode(audio, fmt)


def _ffmpeg(audio: au.Audio, fmt: str) -> bytes:
    """opus (in Ogg) and aac (ADTS) are not among the studio's download formats; ffmpeg makes them. A failure
    is the server's state (ffmpeg missing or broken), not the caller's mistake."""
    try:
        return encode_with_ffmpeg(audio.samples, audio.sample_rate, fmt)
    except au.AudioError as error:
        raise EngineError(f"{error} Ask for mp3, flac, wav or pcm.") from error


class SpeechApi:
    """The endpoint's work, apart from HTTP: check a request against the studio, speak it, list voices."""

    def __init__(self, studio: Studio) -> None:
        self.studio = studio
        self._speakers: dict[str, list[str]] = {}
        # Narrations the API runs at once, as the UI's RETAKE_GPU_CONCURRENCY limits its own model work.
        self._slots = threading.BoundedSemaphore(studio.settings.gpu_concurrency)

    def project_id(self) -> int:
        """The first project (the one the studio opens on): API voices and takes live there."""
        return self.studio.projects.list()[0].id

    def engine_ids(self) -> list[str]:
        """Speak engines that work offline now (embedded and installed), the default first."""
        ids = [e.id for e in self.studio.models.catalog.offline("speak")]
        return sorted(ids, key=lambda engine_id: engine_id != DEFAULT_ENGINE)

    def speakers(self, engine_id: str) -> list[str]:
        """Built-in speakers of an engine, remembered: listing them loads the engine."""
        if engine_id not in self._speakers:
            self._speakers[engine_id] = self.studio.engines.speakers(engine_id)
        return self._speakers[engine_id]

    def voices(self) -> list[dict[str, Any]]:
        voices: list[dict[str, Any]] = [
            {"id": v.name, "name": v.name, "object": "voice", "source": "library", "voice_id": v.id,
             "language": v.language, "engine": None}
            for v in self.studio.voices.list(self.project_id())]
        for engine_id in self.engine_ids():
            try:
                speakers = self.speakers(engine_id)
            except (EngineError, ValueError, OSError) as error:  # one broken engine does not hide the others
                log.warning("built-in speakers of %s unavailable: %s", engine_id, error)
                continue
            voices += [{"id": s, "name": s, "object": "voice", "source": "builtin", "voice_id": None,
                        "language": None, "engine": engine_id} for s in speakers]
        return voices

    def plan(self, body: Any) -> SpeechPlan:
        """Check the JSON body field by field, so each refusal names its field."""
        if not isinstance(body, dict):
            raise ApiError(400, "The body must be a JSON object.")
        text = body.get("input")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "'input' must be the text to speak, not empty.", "input")
        fmt = body.get("response_format") or "mp3"
        if fmt not in MEDIA_TYPES:
            raise ApiError(400, f"'response_format' must be one of {', '.join(MEDIA_TYPES)}, got {fmt!r}.",
                           "response_format")
        speed = body.get("speed", 1.0)
        if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not MIN_SPEED <= speed <= MAX_SPEED:
            raise ApiError(400, f"'speed' must be a number from {MIN_SPEED} to {MAX_SPEED}, got {speed!r}.", "speed")
        stream_format = body.get("stream_format")
        if stream_format is not None and stream_format not in STREAM_FORMATS:
            raise ApiError(400, f"'stream_format' must be 'audio' or 'sse', got {stream_format!r}.", "stream_format")
        if stream_format != "sse":  # raw pcm always streams; other formats when asked with "stream": true
            stream_format = "audio" if fmt == "pcm" or body.get("stream") is True else None
        if stream_format == "audio" and fmt not in ("pcm", "wav"):
            raise ApiError(400, f"Only pcm and wav stream as raw audio; ask for one of them or set "
                                f"'stream_format': 'sse' to get {fmt} chunk by chunk.", "stream")
        project_id = self.project_id()
        engine_id, voice_id, speaker = self._voice(project_id, body.get("model"), body.get("voice"))
        return SpeechPlan(project_id, text, engine_id, voice_id, speaker, float(speed), fmt, stream_format,
                          body.get("gate") is True)

    def _voice(self, project_id: int, model: Any, voice: Any) -> tuple[str, int | None, str | None]:
        """(engine, library voice, built-in speaker) for the request's model and voice names."""
        alias = model in (None, "") or model in OPENAI_MODELS
        if not alias:
            if not isinstance(model, str):
                raise ApiError(400, "'model' must be a string.", "model")
            try:
                self.studio.media.engine(model, "speak")
            except ValueError as error:
                raise ApiError(400, f"{error} OpenAI's names {', '.join(OPENAI_MODELS)} mean {DEFAULT_ENGINE}.",
                               "model", "model_not_found") from None
        if not isinstance(voice, str) or not voice.strip():
            raise ApiError(400, "'voice' must name a voice: see GET /v1/audio/voices.", "voice")
        engine_id = DEFAULT_ENGINE if alias else str(model)
        library = self.studio.voices.list(project_id)
        found = _named(voice, {v.name: v for v in library})
        if found is not None:
            return engine_id, found.id, None
        # An OpenAI model name goes to the engine that has the built-in speaker; a named engine must have it.
        for candidate in (self.engine_ids() if alias else [engine_id]):
            speaker = _named(voice, {s: s for s in self._known_speakers(candidate)})
            if speaker is not None:
                return candidate, None, speaker
        raise ApiError(400, f"Unknown voice {voice!r} for {engine_id if not alias else 'the embedded engines'}: "
                            f"use a voice name of the first project's library or a built-in speaker, as listed by "
                            f"GET /v1/audio/voices (the Voices tab shows the library).", "voice", "voice_not_found")

    def _known_speakers(self, engine_id: str) -> list[str]:
        try:
            return self.speakers(engine_id)
        except (EngineError, OSError) as error:
            raise ApiError(503, f"Engine {engine_id} cannot be used now: {error}", "model", kind="server_error")

    def start(self, plan: SpeechPlan) -> Iterator[SpeakEvent]:
        """Start the narration once a slot is free; the slot is held until it ends, even if the caller left."""
        if not self._slots.acquire(timeout=BUSY_WAIT_S):
            raise ApiError(503, "The studio is busy with other narrations; try again shortly.", kind="server_error",
                           code="busy")
        try:
            events = self.studio.speak.speak(plan.project_id, plan.text, voice_id=plan.voice_id,
                                             engine_id=plan.engine_id, speaker=plan.speaker, speed=plan.speed,
                                             gate=plan.gate)
        except BaseException:
            self._slots.release()
            raise
        def release() -> None:
            events.wait()
            self._slots.release()
        threading.Thread(target=release, name="retake-api-slot", daemon=True).start()
        return events


def _named(name: str, options: dict[str, Any]) -> Any:
    """The option called `name`, exactly or else ignoring case."""
    if name in options:
        return options[name]
    folded = {key.casefold(): value for key, value in options.items()}
    return folded.get(name.strip().casefold())


def _refusal(error: BaseException) -> ApiError:
    """A use case's exception as the answer to send: the caller's mistake (400) or the server's state (503)."""
    if isinstance(error, ApiError):
        return error
    if isinstance(error, QuotaExceeded):  # as OpenAI answers a spent quota
        return ApiError(429, str(error), code="insufficient_quota")
    if isinstance(error, (ValueError, StorageError, LookupError)):
        return ApiError(400, str(error))
    if isinstance(error, (EngineError, OSError, subprocess.SubprocessError)):
        return ApiError(503, str(error) or type(error).__name__, kind="server_error")
    log.exception("speech request failed", exc_info=error)
    return ApiError(500, "The speech could not be made; the studio's log says why.", kind="server_error")


def _check_key(request: Request, settings: Settings) -> None:
    """With RETAKE_AUTH set, the API key is the password (or 'user:password'), sent as a Bearer token. On a
    shared server the key is 'user:password' of RETAKE_USERS (or the browser's Hugging Face sign-in), and the
    request then acts as that user (`acting_user`): their voices, their takes, their quota."""
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    key = key.strip() if scheme.lower() == "bearer" else ""
    if settings.multi_user:
        for user, password in settings.users:
            if key and hmac.compare_digest(key.encode(), f"{user}:{password}".encode()):
                acting_user.set(user)
                return
        if (signed_in := oauth_user(request)) is not None:
            acting_user.set(signed_in)
            return
        raise ApiError(401, "Send your user name and password as the API key (Authorization: Bearer "
                            "user:password).", code="invalid_api_key")
    if settings.auth is None:
        return
    user, password = settings.auth
    if key and any(hmac.compare_digest(key.encode(), good.encode()) for good in (password, f"{user}:{password}")):
        return
    raise ApiError(401, "Send the studio's password as the API key (Authorization: Bearer <password>).",
                   code="invalid_api_key")


def router(studio: Studio) -> APIRouter:
    """The /v1 routes over `studio`, protected by its RETAKE_AUTH password when one is set; on a shared server
    (`studio` a RoutedStudio) each request is served by its user's own studio."""
    api = SpeechApi(studio)
    settings = studio.settings
    routes = APIRouter(prefix="/v1")

    @routes.post("/audio/speech", response_model=None)
    async def speech(request: Request) -> Response:
        try:
            _check_key(request, settings)
            try:
                body = await request.json()
            except ValueError:
                raise ApiError(400, "The body must be JSON.") from None
            plan = await run_in_threadpool(api.plan, body)
            events = await run_in_threadpool(api.start, plan)
            if plan.stream_format is not None:
                return await run_in_threadpool(_streamed, plan, events)
            return await run_in_threadpool(_whole, plan, events)
        except Exception as error:  # every refusal as OpenAI-style JSON, never a traceback
            return _refusal(error).response()

    @routes.get("/audio/voices", response_model=None)
    async def voices(request: Request) -> Response:
        try:
            _check_key(request, settings)
            return JSONResponse({"object": "list", "data": await run_in_threadpool(api.voices)})
        except Exception as error:
            return _refusal(error).response()

    @routes.get("/models", response_model=None)
    async def models(request: Request) -> Response:
        try:
            _check_key(request, settings)
        except ApiError as error:
            return error.response()
        ids = list(OPENAI_MODELS) + studio.engines.ids("speak")
        return JSONResponse({"object": "list", "data": [{"id": i, "object": "model", "created": 0,
                                                         "owned_by": "retake"} for i in ids]})

    return routes


def _headers(plan: SpeechPlan, rate: int) -> dict[str, str]:
    return {"X-Sample-Rate": str(rate), "X-Retake-Engine": plan.engine_id}


def _whole(plan: SpeechPlan, events: Iterator[SpeakEvent]) -> Response:
    """Wait for the stored take and send it as one file."""
    done = next((e for e in events if e.kind == "done"), None)
    if done is None:
        raise EngineError("The narration ended without audio.")
    headers = _headers(plan, done.audio.sample_rate)
    if done.take is not None:
        headers["X-Retake-Take-Id"] = str(done.take.id)
    return Response(encode(done.audio, plan.fmt), media_type=MEDIA_TYPES[plan.fmt], headers=headers)


def _streamed(plan: SpeechPlan, events: Iterator[SpeakEvent]) -> Response:
    """Send each chunk as it is synthesised. The first chunk is awaited here, so a failing engine still gets a
    JSON error, and the sample rate is known for the headers."""
    first = next((e for e in events if e.kind in ("chunk", "done")), None)
    if first is None:
        raise EngineError("The narration ended without audio.")
    headers = _headers(plan, first.audio.sample_rate)
    if plan.stream_format == "sse":
        return StreamingResponse(_sse(plan, first, events), media_type="text/event-stream", headers=headers)
    return StreamingResponse(_raw(plan, first, events), media_type=MEDIA_TYPES[plan.fmt], headers=headers)


def _chunks(first: SpeakEvent, events: Iterator[SpeakEvent]) -> Iterator[SpeakEvent]:
    """Chunks as first played, then "done"; the gate's later replacements are in the stored take only."""
    yield first
    for event in events:
        if event.kind in ("chunk", "done"):
            yield event


def _raw(plan: SpeechPlan, first: SpeakEvent, events: Iterator[SpeakEvent]) -> Iterator[bytes]:
    if plan.fmt == "wav":  # a header with an unknown length, as streamed wav has; then 16-bit samples
        yield _wav_header(first.audio.sample_rate)
    try:
        for event in _chunks(first, events):
            if event.kind == "chunk":
                yield encode(event.audio, "pcm")
    except Exception:  # the status is sent already: end the stream short and say why in the log
        log.exception("streamed speech failed midway")


def _sse(plan: SpeechPlan, first: SpeakEvent, events: Iterator[SpeakEvent]) -> Iterator[bytes]:
    """OpenAI's speech events: a `speech.audio.delta` per chunk (base64; each chunk a whole file in the asked
    format, or raw pcm), then `speech.audio.done` naming the stored take."""
    def event(payload: dict[str, Any]) -> bytes:
        return f"data: {json.dumps(payload)}\n\n".encode()
    try:
        for item in _chunks(first, events):
            if item.kind == "chunk":
                audio = base64.b64encode(encode(item.audio, plan.fmt)).decode()
                yield event({"type": "speech.audio.delta", "audio": audio})
            else:
                yield event({"type": "speech.audio.done", "take_id": item.take.id if item.take else None,
                             "usage": {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}})
    except Exception as error:
        refusal = _refusal(error)
        yield event({"type": "error", "error": {"message": refusal.message, "type": refusal.kind}})


def _wav_header(rate: int) -> bytes:
    """A RIFF header for 16-bit mono of unknown length (sizes 0xFFFFFFFF), so a player can start at once."""
    unknown = 0xFFFFFFFF
    fmt = (16).to_bytes(4, "little") + (1).to_bytes(2, "little") + (1).to_bytes(2, "little") + \
        rate.to_bytes(4, "little") + (rate * 2).to_bytes(4, "little") + (2).to_bytes(2, "little") + \
        (16).to_bytes(2, "little")
    return b"RIFF" + unknown.to_bytes(4, "little") + b"WAVEfmt " + fmt + b"data" + unknown.to_bytes(4, "little")
