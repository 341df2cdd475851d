"""The studio through its public API, with gradio_client, exactly as a script or another app would use it."""
from __future__ import annotations

import re

import numpy as np
import pytest
import soundfile as sf
from gradio_client import Client, handle_file

from tests.conftest import speech_clip

pytestmark = pytest.mark.e2e


# The first project (id 1) is created when the store opens; the calls below use it.


@pytest.fixture(scope="module")
def client(running_app):
    return Client(running_app.url, verbose=False)


def test_create_voice_from_real_clip_then_list_it(client):
    status, table, *_ = client.predict(
        1, [handle_file(str(speech_clip("coqui_lj_LJ001-0008")))], None, "Linda", "en",
        "has never been surpassed.", False, True, api_name="/create_voice",
    )
    assert "Linda" in status and "1 clip" in status
    table, _ = client.predict(1, api_name="/list_voices")
    rows = table["data"]
    assert [row[1] for row in rows] == ["Linda"]
    assert rows[0][3] == 1 and 1.0 <= rows[0][4] <= 1.8  # one clip, trimmed to the speech


def test_create_voice_without_consent_is_refused_readably(client):
    with pytest.raises(Exception, match=re.compile("consent", re.I)):
        client.predict(1, [handle_file(str(speech_clip("coqui_lj_LJ001-0008")))], None, "NoConsent", "en", "",
                       False, False, api_name="/create_voice")
    table, _ = client.predict(1, api_name="/list_voices")
    assert "NoConsent" not in [row[1] for row in table["data"]]


def test_create_voice_from_non_audio_file_is_refused(client, tmp_path):
    fake = tmp_path / "notes.wav"
    fake.write_text("this is not audio")
    with pytest.raises(Exception, match=re.compile("audio|decode|read", re.I)):
        client.predict(1, [handle_file(str(fake))], None, "Broken", "en", "", False, True, api_name="/create_voice")


def test_import_star_download_delete_take(client, tmp_path):
    clip = speech_clip("pocketsphinx_goforward")
    summary, table, *_ = client.predict(1, handle_file(str(clip)), "go forward ten meters", 0, False, 1,
                                        api_name="/import_recording")
    take_id = table["data"][0][0]
    assert table["data"][0][3] == "go forward ten meters"
    summary, table = client.predict(take_id, 1, 0, False, 1, api_name="/star_take")
    assert table["data"][0][1] == "★"
    path = client.predict(take_id, "flac", api_name="/download_take")
    data, rate = sf.read(path)
    assert rate == 16000 and abs(len(data) / rate - sf.info(str(clip)).duration) < 0.01
    summary, table, *_ = client.predict(take_id, 1, 0, False, 1, api_name="/delete_take")
    assert take_id not in [row[0] for row in table["data"]]


def test_engines_listed_offline_and_a_hub_engine_explains_itself(client):
    table = client.predict(api_name="/list_engines")
    states = {row[0]: row[2] for row in table["data"]}
    assert states["deepfilternet3"] == "offline (embedded)"
    assert states["whisper-small"] == "needs download"
    with pytest.raises(Exception, match="not downloaded and HF_HUB_OFFLINE is set"):
        client.predict("whisper-small", api_name="/load_engine")


def test_load_and_unload_an_embedded_engine(client):
    table, status = client.predict("rnnoise", api_name="/load_engine")
    assert "loaded in" in status
    assert {row[0]: row[2] for row in table["data"]}["rnnoise"] == "● loaded"
    table, status = client.predict("rnnoise", api_name="/unload_engine")
    assert {row[0]: row[2] for row in table["data"]}["rnnoise"] == "offline (embedded)"


def test_enhance_an_upload_through_the_api(client):
    outputs = client.predict(1, None, handle_file(str(speech_clip("denoiser_noisy_p287_002"))), "deepfilternet3",
                             "podcast", api_name="/enhance")
    report = outputs[4]
    assert "Saved as take" in report and "Noise floor" in report
    # the input's SNR decided how much the denoiser could take away; the recogniser heard before and after
    assert re.search(r"Input SNR about \d+ dB: the denoiser could take away at most 12 dB", report), report
    assert "heard differently" in report, report
    verdicts = re.findall(r"\| (Loudness|True peak) \| .* \| (✓ met|✗ missed) \|", report)
    assert [name for name, _ in verdicts] == ["Loudness", "True peak"], report  # podcast's two requirements
    summary, table, *_ = client.predict(1, 0, False, 1, api_name="/list_takes")
    kinds = [row[2] for row in table["data"]]
    assert kinds[:2] == ["enhanced", "recording"]
    # Issue #18: the audio handed back is the stored take, not a copy Gradio peak-normalised (it came back
    # 6.4 dB louder, at 0 dBFS, while the report said -1 dBTP).
    handed, _ = sf.read(outputs[1], dtype="float32")
    stored, _ = sf.read(client.predict(table["data"][0][0], "flac", api_name="/download_take"), dtype="float32")
    assert np.array_equal(handed, stored)
    assert float(np.abs(handed).max()) <= 10 ** (-1.0 / 20)
