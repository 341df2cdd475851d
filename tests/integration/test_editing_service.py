"""The Edit use cases on a real recording with the real engines: transcribe once with Whisper (or a Hub
Whisper), edit words into new child takes spoken by Piper (or a Hub cloner), and the CLI. The use cases' own
logic (waveform edits, previews, refusals) is tested quickly in test_edit_use_cases.py."""
from __future__ import annotations

import numpy as np
import pytest

from pipelines import audio as au
from pipelines.scoring import word_error_rate
from studio.config import Settings
from studio.service import Studio
from tests.conftest import NO_TTS, speech_clip, speech_manifest

pytestmark = pytest.mark.slow
CLIP = "coqui_lj_LJ001-0016"
ENGINE = "piper-joe-embedded"


@pytest.fixture(scope="module")
def project(studio):
    return studio.projects.list()[0].id


@pytest.fixture(scope="module")
def recording(studio, project):
    take = studio.takes.import_recording(project, speech_clip(CLIP), text=speech_manifest()[CLIP]["transcript"])
    studio.edit.transcript(take.id)
    return take


def words_of(studio, take_id) -> list[str]:
    return studio.edit.transcript(take_id).text.split()


def takes_count(studio, project) -> int:
    return studio.takes.count(project)


def test_transcript_is_stored_with_the_take_and_reused(studio, recording):
    stored = studio.store.get_transcript(recording.id)
    assert stored is not None and stored.engine_id == "whisper-base-embedded"
    assert len(stored.words) >= 10
    assert all(0 <= s <= e <= recording.duration for _, s, e, _ in stored.words)
    again = studio.edit.transcript(recording.id)
    assert again.text == stored.text  # read back, not transcribed anew
    expected = speech_manifest()[CLIP]["transcript"]
    assert word_error_rate(expected, stored.text) <= 0.2  # Whisper base: "therefore" -> "there for"


def test_deleting_a_word_makes_a_child_take_and_leaves_the_original_intact(studio, recording):
    before = studio.takes.audio(recording.id)
    words = words_of(studio, recording.id)
    edited = " ".join(words[:3] + words[4:])
    outcome = studio.edit.apply(recording.id, edited)
    take = outcome.take
    assert take.kind == "edit" and take.parent_id == recording.id
    assert take.engine_id is None and take.seed is None  # no model was needed
    [edit] = take.parameters["edits"]
    assert edit["kind"] == "delete" and edit["old_text"].strip(".,").lower() == words[3].strip(".,").lower()
    assert take.duration < recording.duration - 0.1
    after = studio.takes.audio(recording.id)  # the original take is untouched
    np.testing.assert_array_equal(before.samples, after.samples)
    stored = studio.takes.audio(take.id)
    cut_start = edit["out_start"]
    keep = int(max(0.0, cut_start - 0.02) * before.sample_rate)
    np.testing.assert_array_equal(stored.samples[:keep], before.samples[:keep])  # bit-identical before the cut
    assert studio.store.get_transcript(take.id).text.split() == edited.split()
    assert studio.edit.origin(take.id).id == recording.id  # "go back" is the parent


def test_three_edits_in_one_pass_are_heard_as_edited(studio, recording):
    pytest.importorskip("piper", reason=NO_TTS)
    words = words_of(studio, recording.id)
    edited_words = list(words)
    edited_words[1] = "wonderful"      # replace
    del edited_words[5]                # delete
    edited_words.insert(8, "quietly")  # insert
    edited = " ".join(edited_words)
    outcome = studio.edit.apply(recording.id, edited, engine_id=ENGINE, seed=7)
    kinds = sorted(e.kind for e in outcome.result.edits)
    assert kinds == ["delete", "insert", "replace"]
    take = outcome.take
    assert take.engine_id == ENGINE and take.seed == 7 and take.parent_id == recording.id
    assert take.scores["worst_seam_click"] <= 1.0
    assert take.scores["inserted_similarity"] is not None
    assert any("not a cloner" in n for n in outcome.notices)
    heard = studio.edit.transcript(take.id, refresh=True).text
    original_wer = word_error_rate(speech_manifest()[CLIP]["transcript"], " ".join(words))
    assert word_error_rate(edited, heard) <= original_wer + 0.2, heard
    lowered = heard.lower()
    assert "wonderful" in lowered and "quietly" in lowered


def test_inserted_words_are_spoken_between_their_neighbours_and_cut_out(studio, recording):
    """Piper says the new word inside the words around it (in_context.py); the take records that, and the
    recogniser hears the word in place between the same neighbours."""
    pytest.importorskip("piper", reason=NO_TTS)
    words = words_of(studio, recording.id)
    edited = " ".join(words[:3] + ["quietly"] + words[3:])  # "The Middle Ages quietly brought calligraphy..."
    outcome = studio.edit.apply(recording.id, edited, engine_id=ENGINE, seed=6)  # a seed whose first try is heard
    [edit] = outcome.take.parameters["edits"]
    assert edit["kind"] == "insert" and edit["provenance"]["in_context"] is True and edit["provenance"]["attempt"] == 0
    assert edit["provenance"]["matched_to_recording"] == "voice" and edit["check"]["verdict"] == "clean", edit["check"]
    heard = [w.strip(".,").lower() for w in studio.edit.transcript(outcome.take.id, refresh=True).text.split()]
    assert "quietly" in heard, " ".join(heard)
    at = heard.index("quietly")
    assert heard[at - 1] == words[2].strip(".,").lower() and heard[at + 1] == words[3].strip(".,").lower()


def test_each_try_says_the_new_words_another_way(studio, recording):
    """The editor tries again where new words were not heard (editor.SPEECH_TRIES): amid the neighbouring words
    matched to the recording's voice, then to its pitch only, then unmatched, and last alone and unmatched."""
    pytest.importorskip("piper", reason=NO_TTS)
    from pipelines.editing import SynthesisRequest, trim
    from pipelines.editing.editor import SPEECH_TRIES

    original = studio.takes.audio(recording.id)
    notices: list[str] = []
    synthesize = studio.edit._synthesizer(recording, original, studio.edit._speak_engine(ENGINE), 7, None,
                                          notices=notices)
    assert notices == []  # the engine is loaded and the voice matched on the first call, which says so
    tries = [synthesize(SynthesisRequest("quietly", "The Middle Ages", "brought calligraphy", trim(original, 0, 4),
                                         "", 2.5, attempt)) for attempt in range(SPEECH_TRIES)]
    said = [(p.get("in_context", False), p["matched_to_recording"]) for _, p in tries]
    assert len(notices) == 1 and "not a cloner" in notices[0]
    assert said == [(True, "voice"), (True, "pitch"), (True, False), (False, False)]
    assert [p["attempt"] for _, p in tries] == list(range(SPEECH_TRIES))
    # the same words, cut from the same sentence, matched less and less: none is the same audio as another
    audio = [a.samples for a, _ in tries[:3]]
    assert not any(np.array_equal(a, b) for k, a in enumerate(audio) for b in audio[k + 1:])


def test_same_seed_gives_the_same_inserted_audio(studio, recording):
    pytest.importorskip("piper", reason=NO_TTS)
    words = words_of(studio, recording.id)
    edited = " ".join(words[:2] + ["golden"] + words[2:])
    a = studio.edit.apply(recording.id, edited, engine_id=ENGINE, seed=3)
    b = studio.edit.apply(recording.id, edited, engine_id=ENGINE, seed=3)
    np.testing.assert_array_equal(studio.takes.audio(a.take.id).samples, studio.takes.audio(b.take.id).samples)


def test_a_recording_with_no_speech_cannot_be_transcribed_for_editing(studio, project):
    rng = np.random.default_rng(0)
    noise = au.Audio((rng.standard_normal(16000 * 3) * 0.01).astype(np.float32), 16000)
    take = studio.takes.import_recording(project, noise)
    with pytest.raises(ValueError, match="No speech"):
        studio.edit.transcript(take.id)
    assert studio.store.get_transcript(take.id) is None
    with pytest.raises(ValueError, match="transcribe it first"):
        studio.edit.apply(take.id, "hello")


def test_cli_transcribes_and_applies_an_edit(tmp_path):
    import json
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {**os.environ, "RETAKE_DATA_DIR": str(tmp_path / "data")}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "studio", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=240)

    imported = cli("takes", "import", str(speech_clip(CLIP)))
    assert imported.returncode == 0, imported.stderr
    take_id = json.loads(imported.stdout)["id"]
    heard = cli("edit", "transcribe", str(take_id))
    assert heard.returncode == 0, heard.stderr
    words = json.loads(heard.stdout)["text"].split()
    assert len(words) >= 10
    applied = cli("edit", "apply", str(take_id), " ".join(words[1:]))
    assert applied.returncode == 0, applied.stderr
    result = json.loads(applied.stdout)
    assert result["take"]["parent_id"] == take_id and result["take"]["kind"] == "edit"
    [check] = result["seam_checks"]  # the first word deleted, its seam heard by the recogniser
    assert check["verdict"] in ("clean", "remnant", "clipped", "unclear") and check["expected"].startswith("|")
    unchecked = json.loads(cli("edit", "apply", str(take_id), " ".join(words[1:]), "--no-check").stdout)
    assert unchecked["seam_checks"] == [None]
    refused = cli("edit", "apply", str(take_id), "")
    assert refused.returncode == 2 and "delete everything" in refused.stderr.lower()
    # the edited transcript from a file, with a new word, and the result written where asked
    edited = tmp_path / "edited.txt"
    edited.write_text(" ".join([words[0], "really", *words[1:]]), encoding="utf-8")
    out = tmp_path / "edited.flac"
    inserted = cli("edit", "apply", str(take_id), "--text-file", str(edited), "--out", str(out), "--seed", "4",
                   "--no-match", "--no-check")
    assert inserted.returncode == 0, inserted.stderr
    result = json.loads(inserted.stdout)
    assert result["written"] == str(out) and result["take"]["seed"] == 4
    assert result["take"]["engine_id"] == "piper-joe-embedded"
    assert abs(au.load(out).duration - result["take"]["duration"]) < 0.01
    assert not any("matched to this recording" in notice for notice in result["notices"])  # --no-match
    both = cli("edit", "apply", str(take_id), "some words", "--text-file", str(edited))
    assert both.returncode == 2 and "Give the edited transcript, or --text-file, but not both" in both.stderr
    wrong = cli("edit", "apply", str(take_id), "some words", "--out", str(tmp_path / "x.aiff"))
    assert wrong.returncode == 2 and "--out must end in one of" in wrong.stderr


def test_a_hub_whisper_can_transcribe_for_editing(tmp_path):
    """The Hub transcriber path (transformers Whisper, here a tiny random checkpoint in a local folder) is
    chosen by id, and what it hears is stored with its engine id; a non-ASR engine id is refused."""
    from tests.tiny.whisper import BUILDERS

    folder = BUILDERS["whisper-small"](tmp_path / "whisper-small")
    studio = Studio.open(Settings(data_dir=tmp_path / "data", engine_paths=(("whisper-small", folder),)))
    try:
        take = studio.takes.import_recording(studio.projects.list()[0].id, speech_clip(CLIP))
        with pytest.raises(ValueError, match="does not transcribe"):
            studio.edit.transcript(take.id, engine_id="deepfilternet3")
        heard = studio.edit.transcript(take.id, engine_id="whisper-small")
        stored = studio.store.get_transcript(take.id)
        assert stored.engine_id == "whisper-small" and stored.text == heard.text
        assert all(0 <= s <= e <= take.duration for _, s, e, _ in stored.words)
    finally:
        studio.close()


def test_a_hub_cloner_speaks_inserted_words_from_a_prompt_cut_from_the_recording(tmp_path):
    """With a cloner (Pocket TTS; here a tiny random checkpoint in a Hub cache), the inserted words get a voice
    prompt cut from the recording itself: no closest-voice notice, the cloner's id and seed in the edit list."""
    from pipelines.catalog import Catalog
    from pipelines.manager import ModelManager
    from tests.tiny import all_builders
    from tests.tiny.hub_cache import install_in_hub_cache

    catalog = Catalog.load()
    engine = catalog.get("pocket-tts")
    builders, components = all_builders()
    cache = tmp_path / "hub"
    install_in_hub_cache(cache, engine.hub_repo, engine.revision, builders[engine.id](tmp_path / "model"))
    for component in engine.components:
        install_in_hub_cache(cache, component.repo, component.revision,
                             components[engine.id][component.name](tmp_path / component.name))
    settings = Settings(data_dir=tmp_path / "data")
    from storage import Store

    studio = Studio(Store.open(settings.data_dir), settings, models=ModelManager(catalog, cache_dir=cache))
    try:
        take = studio.takes.import_recording(studio.projects.list()[0].id, speech_clip(CLIP))
        words = studio.edit.transcript(take.id).text.split()
        edited = " ".join(words[:4] + ["golden"] + words[4:])
        # a tiny random cloner says nothing a recogniser could hear: the seam check is not what this tests
        outcome = studio.edit.apply(take.id, edited, engine_id="pocket-tts", seed=5, check=False)
        [edit] = outcome.result.edits
        assert edit.kind == "insert" and edit.provenance["engine_id"] == "pocket-tts"
        assert outcome.take.engine_id == "pocket-tts" and not outcome.notices
        assert outcome.take.duration > take.duration
    finally:
        studio.close()


def test_a_deletion_whose_plan_fails_is_tried_where_the_voice_aligns_the_words(tmp_path):
    """"Billy" in "a very old man. Billy Trainer has" (LibriSpeech 6848): cut at Whisper's timings it leaves a
    trace, so the seam check goes past the plan, and its second alignment is spoken by the embedded Piper voice,
    which is therefore loaded for a deletion that speaks no new words. The take records where its cuts came from."""
    pytest.importorskip("piper", reason=NO_TTS)
    clip = "resemblyzer_ls_6848-252322-0000"
    studio = Studio.open(Settings(data_dir=tmp_path / "data"))
    try:
        take = studio.takes.import_recording(studio.projects.list()[0].id, speech_clip(clip))
        words = studio.edit.transcript(take.id).text.split()
        k = next(i for i in range(1, len(words)) if words[i] == "Billy" and words[i - 1] == "man.")
        assert ENGINE not in studio.models.loaded_ids()
        outcome = studio.edit.apply(take.id, " ".join(words[:k] + words[k + 1:]))
        [edit] = outcome.take.parameters["edits"]
        print(f"\n  deleting 'Billy': {edit['check']}")
        # where no cut leaves it clean, "man. Trainer" is said again by the engine for new words (`respoken`)
        assert edit["check"]["tries"] >= 2 and edit["check"]["cuts"] in ("plan", "search", "alignment", "respoken")
        if edit["check"]["cuts"] == "respoken":  # recorded as what was done, with the engine that said the words
            assert edit["kind"] == "replace" and "Billy" in edit["old_text"] and edit["check"]["verdict"] == "clean"
            assert outcome.take.engine_id == ENGINE and any("said again" in n for n in outcome.notices)
            assert studio.edit.transcript(outcome.take.id).text.split() == words[:k] + words[k + 1:]
        assert ENGINE in studio.models.loaded_ids()
    finally:
        studio.close()
