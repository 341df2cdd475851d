"""The OpenAI-compatible speech endpoint of the running app, through plain HTTP and the official `openai` client,
as a tool written for OpenAI's text-to-speech would use it. Embedded engines only (offline)."""
from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request

import pytest
from gradio_client import Client, handle_file

from pipelines import audio as au
from tests.conftest import speech_clip
from tests.e2e.conftest import RunningApp

pytestmark = pytest.mark.e2e

TEXT = "The quick brown fox jumps over the lazy dog."
PIPER_RATE = 22050


def post(app: RunningApp, body: object, key: str | None = None, path: str = "v1/audio/speech"):
    """(status, headers, body bytes) of a POST; HTTP errors are answers too."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(app.url + path, data=data, method="POST",
                                     headers={"Content-Type": "application/json"})
    if key is not None:
        request.add_header("Authorization", f"Bearer {key}")
    return send(request)


def get(app: RunningApp, path: str, key: str | None = None):
    request = urllib.request.Request(app.url + path)
    if key is not None:
        request.add_header("Authorization", f"Bearer {key}")
    return send(request)


def send(request: urllib.request.Request):
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def probe(data: bytes) -> dict:
    """ffprobe's view of encoded audio (for codecs the studio does not decode itself)."""
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,sample_rate,channels",
                          "-show_entries", "format=duration", "-of", "json", "-"], input=data,
                         capture_output=True, check=True, timeout=60)
    info = json.loads(out.stdout)
    return {**info["streams"][0], "duration": float(info["format"].get("duration", 0))}


def assert_error(status: int, body: bytes, expected_status: int, param: str | None = None) -> str:
    assert status == expected_status, body
    error = json.loads(body)["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]
    if param is not None:
        assert error["param"] == param
    return error["message"]


@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3"])
def test_speech_in_formats_the_studio_decodes(running_app, fmt):
    status, headers, data = post(running_app, {"model": "tts-1", "input": TEXT, "voice": "joe",
                                               "response_format": fmt})
    assert status == 200, data
    assert headers["Content-Type"].startswith("audio/")
    audio = au.load(data)
    assert 1.0 < audio.duration < 10.0
    assert int(headers["X-Retake-Take-Id"]) >= 1  # kept as a take, like the Speak tab's


@pytest.mark.parametrize("fmt, codec", [("opus", "opus"), ("aac", "aac"), ("mp3", "mp3")])
def test_speech_in_compressed_formats(running_app, fmt, codec):
    status, headers, data = post(running_app, {"input": TEXT, "voice": "joe", "response_format": fmt})
    assert status == 200, data
    info = probe(data)
    assert info["codec_name"] == codec and info["channels"] == 1


def test_mp3_is_the_default_format(running_app):
    status, headers, data = post(running_app, {"model": "piper-joe-embedded", "input": TEXT, "voice": "joe"})
    assert status == 200 and headers["Content-Type"] == "audio/mpeg"
    assert probe(data)["codec_name"] == "mp3"


def test_pcm_is_raw_16_bit_at_the_rate_in_the_header(running_app):
    status, headers, data = post(running_app, {"input": TEXT, "voice": "joe", "response_format": "pcm"})
    assert status == 200, data
    rate = int(headers["X-Sample-Rate"])
    assert rate == PIPER_RATE and len(data) % 2 == 0
    assert 1.0 < len(data) / 2 / rate < 10.0
    _, _, wav = post(running_app, {"input": TEXT, "voice": "joe", "response_format": "wav"})
    assert abs(au.load(wav).duration - len(data) / 2 / rate) < 0.5  # the same speech, give or take a seam


def test_streamed_wav_and_sse_events(running_app):
    status, headers, data = post(running_app, {"input": "First part. Second part here.", "voice": "joe",
                                               "response_format": "wav", "stream": True})
    assert status == 200 and data[:4] == b"RIFF" and probe(data)["codec_name"] == "pcm_s16le"
    status, headers, data = post(running_app, {"input": "First part. Second part here.", "voice": "joe",
                                               "response_format": "pcm", "stream_format": "sse"})
    assert status == 200 and headers["Content-Type"].startswith("text/event-stream")
    events = [json.loads(line[6:]) for line in data.decode().splitlines() if line.startswith("data: ")]
    assert [e["type"] for e in events][-1] == "speech.audio.done" and events[-1]["take_id"] >= 1
    assert sum(e["type"] == "speech.audio.delta" for e in events) >= 1


def test_speed_changes_the_length(running_app):
    lengths = [len(post(running_app, {"input": TEXT, "voice": "joe", "response_format": "pcm", "speed": s})[2])
               for s in (1.0, 1.5)]
    assert lengths[1] < 0.85 * lengths[0]


def test_official_openai_client(running_app, tmp_path):
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=running_app.url + "v1", api_key="unused")
    speech = client.audio.speech.create(model="tts-1", voice="joe", input=TEXT, response_format="wav")
    assert 1.0 < au.load(speech.content).duration < 10.0
    chunks: list[bytes] = []
    with client.audio.speech.with_streaming_response.create(model="tts-1-hd", voice="joe", input=TEXT + " " + TEXT,
                                                            response_format="pcm") as response:
        assert int(response.headers["x-sample-rate"]) == PIPER_RATE
        chunks.extend(response.iter_bytes(4096))
        target = tmp_path / "speech.pcm"
        target.write_bytes(b"".join(chunks))
    assert len(chunks) > 1 and target.stat().st_size / 2 / PIPER_RATE > 2.0
    models = [m.id for m in client.models.list()]
    assert "tts-1" in models and "piper-joe-embedded" in models
    with pytest.raises(openai.BadRequestError, match="voice"):
        client.audio.speech.create(model="tts-1", voice="alloy", input=TEXT)


def test_voices_list_library_and_built_in_voices_and_library_voices_speak(running_app):
    Client(running_app.url, verbose=False).predict(
        1, [handle_file(str(speech_clip("coqui_lj_LJ001-0008")))], None, "Linda", "en",
        "has never been surpassed.", False, True, api_name="/create_voice")
    status, _, data = get(running_app, "v1/audio/voices")
    assert status == 200
    voices = json.loads(data)["data"]
    library = [v for v in voices if v["source"] == "library"]
    assert [v["name"] for v in library] == ["Linda"]
    builtin = {v["name"]: v["engine"] for v in voices if v["source"] == "builtin"}
    assert builtin["joe"] == "piper-joe-embedded"
    others = [name for name, engine in builtin.items() if engine != "piper-joe-embedded"]
    status, headers, data = post(running_app, {"model": "tts-1", "input": TEXT, "voice": "linda",
                                               "response_format": "flac"})
    assert status == 200, data
    assert au.load(data).duration > 1.0
    if others:  # an OpenAI model name goes to the embedded engine that has the built-in speaker
        status, headers, data = post(running_app, {"input": TEXT, "voice": others[0], "response_format": "wav"})
        assert status == 200, data
        assert headers["X-Retake-Engine"] == builtin[others[0]]


@pytest.mark.parametrize("body, param", [
    ({"input": "", "voice": "joe"}, "input"),
    ({"input": "   ", "voice": "joe"}, "input"),
    ({"voice": "joe"}, "input"),
    ({"input": TEXT, "voice": "alloy"}, "voice"),
    ({"input": TEXT}, "voice"),
    ({"input": TEXT, "voice": "joe", "response_format": "ogg"}, "response_format"),
    ({"input": TEXT, "voice": "joe", "speed": 4.5}, "speed"),
    ({"input": TEXT, "voice": "joe", "speed": "fast"}, "speed"),
    ({"input": TEXT, "voice": "joe", "model": "no-such-engine"}, "model"),
    ({"input": TEXT, "voice": "joe", "model": "whisper-base-embedded"}, "model"),
    ({"input": TEXT, "voice": "joe", "stream_format": "chunks"}, "stream_format"),
])
def test_bad_requests_get_openai_style_400s(running_app, body, param):
    status, _, data = post(running_app, body)
    assert_error(status, data, 400, param)


def test_text_over_the_limit_and_non_json_are_refused(running_app):
    status, _, data = post(running_app, {"input": "word " * 20_001, "voice": "joe"})
    assert "at most" in assert_error(status, data, 400)
    status, _, data = post(running_app, b"not json")
    assert_error(status, data, 400)
    status, _, data = post(running_app, {"input": "!!! ...", "voice": "joe"})  # the use case's own check
    assert "words" in assert_error(status, data, 400)


@pytest.fixture(scope="module")
def auth_app(tmp_path_factory):
    base = tmp_path_factory.mktemp("auth-app")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RETAKE_AUTH", "alice:s3cret")
        app = RunningApp(base / "data", base / "app.log").start()
    yield app
    app.stop()


def test_with_auth_the_password_is_the_api_key(auth_app):
    for key in (None, "wrong", "alice:wrong"):
        status, headers, data = post(auth_app, {"input": TEXT, "voice": "joe", "response_format": "wav"}, key)
        assert_error(status, data, 401)
        assert headers["WWW-Authenticate"] == "Bearer"
        assert_error(*get(auth_app, "v1/audio/voices", key)[::2], 401)
    for key in ("s3cret", "alice:s3cret"):
        status, _, data = post(auth_app, {"input": TEXT, "voice": "joe", "response_format": "wav"}, key)
        assert status == 200 and au.load(data).duration > 1.0
    openai = pytest.importorskip("openai")
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=auth_app.url + "v1", api_key="nope").audio.speech.create(
            model="tts-1", voice="joe", input=TEXT)
    speech = openai.OpenAI(base_url=auth_app.url + "v1", api_key="s3cret").audio.speech.create(
        model="tts-1", voice="joe", input=TEXT, response_format="flac")
    assert au.load(speech.content).duration > 1.0
