"""Hub generation engines (SpeechT5 TTS and VC, Pocket TTS, MusicGen) built from tiny random checkpoints and
loaded through their real `from_pretrained`, checking the pipeline contract: types, rates, determinism
under a seed, variety across seeds, and readable ValueErrors for bad input."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipelines.audio import Audio, load
from pipelines.base import EngineError, VoicePrompt
from tests.conftest import speech_clip

XVECTOR = "wavlm-base-plus-sv"


def _xvector(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=512).astype(np.float32)


def _check_audio(audio: Audio, rate: int) -> None:
    assert isinstance(audio, Audio)
    assert audio.samples.dtype == np.float32
    assert audio.samples.ndim == 1 and audio.num_samples > 0
    assert audio.sample_rate == rate
    assert np.all(np.isfinite(audio.samples))


def _same(a: Audio, b: Audio) -> bool:
    return a.samples.shape == b.samples.shape and np.array_equal(a.samples, b.samples)


# ------------------------------------------------------------------------------------------- builds


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("tiny_generation")


@pytest.fixture(scope="module")
def vocoder_dir(tiny_root) -> Path:
    from tests.tiny.speecht5 import COMPONENTS

    return COMPONENTS["speecht5-tts"]["vocoder_path"](tiny_root / "speecht5_hifigan")


@pytest.fixture(scope="module")
def speecht5_tts(tiny_root, vocoder_dir):
    from pipelines.speak.speecht5 import SpeechT5Speak
    from tests.tiny.speecht5 import BUILDERS

    folder = BUILDERS["speecht5-tts"](tiny_root / "speecht5_tts")
    return SpeechT5Speak.from_pretrained(folder, vocoder_path=vocoder_dir)


@pytest.fixture(scope="module")
def speecht5_vc(tiny_root, vocoder_dir):
    from pipelines.convert.speecht5 import SpeechT5Convert
    from tests.tiny.speecht5 import BUILDERS

    folder = BUILDERS["speecht5-vc"](tiny_root / "speecht5_vc")
    return SpeechT5Convert.from_pretrained(folder, vocoder_path=vocoder_dir)


@pytest.fixture(scope="module")
def pocket_dirs(tiny_root) -> tuple[Path, Path]:
    from tests.tiny.pocket_tts import BUILDERS, COMPONENTS

    return (BUILDERS["pocket-tts"](tiny_root / "pocket_tts"),
            COMPONENTS["pocket-tts"]["audio_tokenizer_path"](tiny_root / "pocket_tts_audio_tokenizer"))


@pytest.fixture(scope="module")
def pocket(pocket_dirs):
    from pipelines.speak.pocket_tts import PocketTTSSpeak

    model, codec = pocket_dirs
    return PocketTTSSpeak.from_pretrained(model, audio_tokenizer_path=codec)


@pytest.fixture(scope="module")
def musicgen(tiny_root):
    from pipelines.sound.musicgen import MusicGenSound
    from tests.tiny.musicgen import BUILDERS

    return MusicGenSound.from_pretrained(BUILDERS["musicgen-small"](tiny_root / "musicgen_small"))


@pytest.fixture(scope="module")
def reference_voice() -> VoicePrompt:
    """A real recorded speaker, as a user's voice library would hold it."""
    return VoicePrompt(clips=(load(speech_clip("denoiser_clean_p287_002")),),
                       transcripts=("Ask her to bring these things with her from the store.",))


# ---------------------------------------------------------------------------------------- SpeechT5 TTS


def test_speecht5_speaks_in_an_xvector_voice(speecht5_tts):
    voice = VoicePrompt(clips=(), embeddings={XVECTOR: _xvector()})
    audio = speecht5_tts("Hello.", voice=voice, seed=3)
    _check_audio(audio, 16000)
    assert type(speecht5_tts).clones is True
    assert speecht5_tts.memory_bytes() > 0


def test_speecht5_same_seed_same_audio_despite_prenet_dropout(speecht5_tts):
    voice = VoicePrompt(clips=(), embeddings={XVECTOR: _xvector()})
    first = speecht5_tts("Hi.", voice=voice, seed=7)
    again = speecht5_tts("Hi.", voice=voice, seed=7)
    other = speecht5_tts("Hi.", voice=voice, seed=8)
    assert _same(first, again)
    assert not _same(first, other)  # the prenet's dropout is live at inference: seeds matter


def test_speecht5_seed_does_not_touch_global_rng(speecht5_tts):
    import torch

    voice = VoicePrompt(clips=(), embeddings={XVECTOR: _xvector()})
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    speecht5_tts("Hi.", voice=voice, seed=1)
    assert torch.equal(torch.rand(3), expected)


def test_speecht5_voice_changes_output(speecht5_tts):
    one = speecht5_tts("Hi.", voice=VoicePrompt(clips=(), embeddings={XVECTOR: _xvector(1)}), seed=1)
    two = speecht5_tts("Hi.", voice=VoicePrompt(clips=(), embeddings={XVECTOR: _xvector(2)}), seed=1)
    assert not _same(one, two)


@pytest.mark.parametrize("text", ["", "   \n "])
def test_speecht5_rejects_empty_text(speecht5_tts, text):
    voice = VoicePrompt(clips=(), embeddings={XVECTOR: _xvector()})
    with pytest.raises(ValueError, match="text is empty"):
        speecht5_tts(text, voice=voice)


def test_speecht5_rejects_text_over_its_position_table(speecht5_tts):
    voice = VoicePrompt(clips=(), embeddings={XVECTOR: _xvector()})
    text = "a" * (speecht5_tts.max_text_tokens + 5)
    with pytest.raises(ValueError, match=r"too long.*at most \d+"):
        speecht5_tts(text, voice=voice)


def test_speecht5_needs_the_wavlm_xvector(speecht5_tts, reference_voice):
    with pytest.raises(ValueError, match="needs a 'wavlm-base-plus-sv' speaker embedding first"):
        speecht5_tts("Hello.", voice=reference_voice)
    with pytest.raises(ValueError, match="voice is required"):
        speecht5_tts("Hello.", voice=None)
    wrong = VoicePrompt(clips=(), embeddings={XVECTOR: np.ones(256, dtype=np.float32)})
    with pytest.raises(ValueError, match="256 values; SpeechT5 needs 512"):
        speecht5_tts("Hello.", voice=wrong)
    zero = VoicePrompt(clips=(), embeddings={XVECTOR: np.zeros(512, dtype=np.float32)})
    with pytest.raises(ValueError, match="all zeros"):
        speecht5_tts("Hello.", voice=zero)


def test_speecht5_uses_a_speaker_encoder_when_the_voice_has_no_xvector(speecht5_tts, reference_voice):
    """With an encoder, a clip-only voice is embedded on the fly: same audio as storing that vector."""
    from pipelines.speaker import SpeakerEncoder

    vector = _xvector(5)

    class FixedEncoder(SpeakerEncoder):
        dim = 512
        sample_rate = 16000

        @classmethod
        def from_pretrained(cls, model_path, **kw):
            return cls()

        def __call__(self, audio):
            return vector / np.linalg.norm(vector)

    engine = type(speecht5_tts)(speecht5_tts.model, speecht5_tts.vocoder, speecht5_tts.tokenizer,
                                speaker_encoder=FixedEncoder())
    from_clips = engine("Hi.", voice=reference_voice, seed=4)
    stored = speecht5_tts("Hi.", voice=VoicePrompt(clips=(), embeddings={XVECTOR: vector}), seed=4)
    assert from_clips.samples.shape == stored.samples.shape  # equal up to float rounding of the mean
    assert np.allclose(from_clips.samples, stored.samples, rtol=1e-3, atol=1e-6 * np.abs(stored.samples).max())


def test_speecht5_char_tokenizer_reads_spm_char_model_without_sentencepiece(tiny_root, speecht5_tts):
    from pipelines.speak.speecht5 import CharTokenizer

    tokenizer = CharTokenizer.from_file(tiny_root / "speecht5_tts" / "spm_char.model")
    ids = tokenizer.encode("  Hi   yo~ ")
    pieces = {i: p for p, i in tokenizer.pieces.items()}
    assert [pieces[i] for i in ids] == ["\u2581", "H", "i", "\u2581", "y", "o", "<unk>", "</s>"]


def test_speecht5_char_tokenizer_matches_sentencepiece(tiny_root, speecht5_tts):
    pytest.importorskip("sentencepiece")
    from transformers import SpeechT5Tokenizer

    from pipelines.speak.speecht5 import CharTokenizer

    folder = tiny_root / "speecht5_tts"
    ours = CharTokenizer.from_file(folder / "spm_char.model")
    reference = SpeechT5Tokenizer.from_pretrained(folder, local_files_only=True)
    for text in ["Hello there.", "  Hi   yo~ ", "Tab\tand\nnew line", "Caf\u00e9 \ufb01 \u00bd", "a  b"]:
        assert ours.encode(text) == reference(text)["input_ids"], text


def test_speecht5_rejects_unknown_options(speecht5_tts, tiny_root, vocoder_dir):
    from pipelines.speak.speecht5 import SpeechT5Speak

    voice = VoicePrompt(clips=(), embeddings={XVECTOR: _xvector()})
    with pytest.raises(TypeError, match="speaker"):
        speecht5_tts("Hi.", voice=voice, speaker="alba")
    with pytest.raises(EngineError, match="vocoder_path is required"):
        SpeechT5Speak.from_pretrained(tiny_root / "speecht5_tts")


# ----------------------------------------------------------------------------------------- SpeechT5 VC


def _noise(seconds: float, rate: int, seed: int = 0) -> Audio:
    rng = np.random.default_rng(seed)
    return Audio((0.1 * rng.normal(size=int(seconds * rate))).astype(np.float32), rate)


def test_speecht5_vc_contract_and_seeds(speecht5_vc):
    voice = VoicePrompt(clips=(), embeddings={XVECTOR: _xvector()})
    source = _noise(0.4, 16000)
    first = speecht5_vc(source, voice=voice, seed=1)
    _check_audio(first, 16000)
    assert _same(first, speecht5_vc(source, voice=voice, seed=1))
    assert not _same(first, speecht5_vc(source, voice=voice, seed=2))


@pytest.mark.slow
def test_speecht5_vc_output_length_follows_input(speecht5_vc, reference_voice):
    voice = VoicePrompt(clips=(), embeddings={XVECTOR: _xvector()})
    short = load(speech_clip("denoiser_clean_p287_002"))
    short = Audio(short.samples[: short.sample_rate // 2], short.sample_rate)  # 0.5 s of real speech
    longer = _noise(1.0, 22050)  # another rate: resampled, not refused
    out_short = speecht5_vc(short, voice=voice, seed=1)
    out_long = speecht5_vc(longer, voice=voice, seed=1)
    for source, out in ((short, out_short), (longer, out_long)):
        _check_audio(out, 16000)
        assert 0.45 <= out.duration / source.duration <= 2.1
    assert out_long.duration > out_short.duration


def test_speecht5_vc_rejects_bad_input(speecht5_vc, reference_voice):
    voice = VoicePrompt(clips=(), embeddings={XVECTOR: _xvector()})
    with pytest.raises(ValueError, match="at least 0.25 s"):
        speecht5_vc(_noise(0.05, 16000), voice=voice)
    with pytest.raises(ValueError, match="at most"):
        speecht5_vc(_noise(speecht5_vc.max_seconds + 1.0, 16000), voice=voice)
    with pytest.raises(ValueError, match="wavlm-base-plus-sv"):
        speecht5_vc(_noise(0.5, 16000), voice=reference_voice)
    with pytest.raises(ValueError, match="must be an Audio"):
        speecht5_vc(np.zeros(16000, dtype=np.float32), voice=voice)


# ------------------------------------------------------------------------------------------ Pocket TTS


@pytest.mark.slow
def test_pocket_tts_clones_from_a_clip_with_seeded_sampling(pocket, reference_voice):
    first = pocket("Hello there, how are you?", voice=reference_voice, seed=11)
    _check_audio(first, 24000)
    assert type(pocket).clones is True
    assert pocket.memory_bytes() > 0
    assert _same(first, pocket("Hello there, how are you?", voice=reference_voice, seed=11))
    assert not _same(first, pocket("Hello there, how are you?", voice=reference_voice, seed=12))


def test_pocket_tts_voice_clip_conditions_the_output(pocket, reference_voice):
    other = VoicePrompt(clips=(load(speech_clip("denoiser_clean_p287_004")),))
    assert not _same(pocket("Hi there.", voice=reference_voice, seed=1), pocket("Hi there.", voice=other, seed=1))


@pytest.mark.slow
def test_pocket_tts_splits_long_text_into_chunks(pocket, reference_voice):
    text = " ".join(f"Sentence number {word} is here." for word in "one two three four five six".split())
    chunks = pocket._chunks(text)
    assert len(chunks) > 1 and "".join(chunks).replace(" ", "") == text.replace(" ", "")
    audio = pocket(text, voice=reference_voice, seed=3)
    _check_audio(audio, 24000)
    assert audio.duration > pocket("Sentence number one is here.", voice=reference_voice, seed=3).duration


def test_pocket_tts_zero_temperature_is_deterministic(pocket_dirs, reference_voice):
    from pipelines.speak.pocket_tts import PocketTTSSpeak

    model, codec = pocket_dirs
    greedy = PocketTTSSpeak.from_pretrained(model, audio_tokenizer_path=codec, temperature=0.0)
    assert _same(greedy("Hi.", voice=reference_voice, seed=1), greedy("Hi.", voice=reference_voice, seed=2))


def test_pocket_tts_rejects_bad_input(pocket, reference_voice):
    with pytest.raises(ValueError, match="text is empty"):
        pocket("  ", voice=reference_voice)
    with pytest.raises(ValueError, match=r"too long.*at most 5000"):
        pocket("word " * 1200, voice=reference_voice)
    with pytest.raises(ValueError, match="reference clip is required"):
        pocket("Hello.", voice=None)
    with pytest.raises(ValueError, match="reference clip is required"):
        pocket("Hello.", voice=VoicePrompt(clips=(), embeddings={XVECTOR: _xvector()}))
    silent = VoicePrompt(clips=(Audio(np.zeros(48000, dtype=np.float32), 24000),))
    with pytest.raises(ValueError, match="at least 0.5 s of speech"):
        pocket("Hello.", voice=silent)


def test_pocket_tts_needs_its_codec_folder(pocket_dirs):
    """The checkpoint names its codec by Hub id: loading must ask for the local folder, not download."""
    from pipelines.speak.pocket_tts import PocketTTSSpeak

    with pytest.raises(EngineError, match="audio_tokenizer_path is required.*eustlb/pocket-tts-audio-tokenizer"):
        PocketTTSSpeak.from_pretrained(pocket_dirs[0])
    with pytest.raises(EngineError, match="not a folder"):
        PocketTTSSpeak.from_pretrained(pocket_dirs[0], audio_tokenizer_path=pocket_dirs[0] / "missing")


# -------------------------------------------------------------------------------------------- MusicGen


def test_musicgen_makes_the_requested_length(musicgen):
    audio = musicgen("calm piano under rain", seconds=0.6, seed=1)
    _check_audio(audio, 32000)
    assert audio.duration == pytest.approx(0.6, abs=0.03)
    assert musicgen.memory_bytes() > 0


def test_musicgen_seeds(musicgen):
    first = musicgen("city street at night", seconds=0.5, seed=5)
    assert _same(first, musicgen("city street at night", seconds=0.5, seed=5))
    assert not _same(first, musicgen("city street at night", seconds=0.5, seed=6))


@pytest.mark.parametrize("seconds", [0, -1.0, 31.0, float("nan")])
def test_musicgen_rejects_lengths_out_of_range(musicgen, seconds):
    with pytest.raises(ValueError, match="seconds"):
        musicgen("soft wind", seconds=seconds)


def test_musicgen_rejects_empty_and_overlong_prompts(musicgen):
    with pytest.raises(ValueError, match="prompt is empty"):
        musicgen("   ", seconds=1.0)
    with pytest.raises(ValueError, match=r"prompt is too long.*at most 512"):
        musicgen("calm piano " * 400, seconds=1.0)
