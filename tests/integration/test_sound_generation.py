"""Sounds made from a prompt through the studio (issue #14): every catalog text-to-audio engine, built tiny and put
in a Hugging Face cache as a download would leave it, makes candidates that are kept as sound takes with what
made them; a CLAP model on the machine ranks them best first; bad requests and a cancelled run keep nothing; a
generated sound goes under a narration like an imported one."""
from __future__ import annotations

import numpy as np
import pytest

from pipelines.audio import Audio
from pipelines.cancel import CancelToken, Cancelled
from pipelines.catalog import Catalog
from studio.sound_generation import RANKER, SoundRequest

pytest.importorskip("diffusers")
CATALOG = Catalog.load()
GENERATORS = CATALOG.for_task("sound")
PROMPT = "calm rain over a city street at night"


def _hub_studio(root, engines):
    from pipelines.manager import ModelManager
    from storage import Store
    from studio.config import Settings
    from studio.service import Studio
    from tests.tiny import all_builders
    from tests.tiny.hub_cache import install_in_hub_cache

    builders, _ = all_builders()
    for engine in engines:
        install_in_hub_cache(root / "hub", engine.hub_repo, engine.revision, builders[engine.id](root / engine.id))
    settings = Settings(data_dir=root / "data", max_audio_seconds=60)
    settings.data_dir.mkdir(parents=True)
    return Studio(Store.open(settings.data_dir), settings,
                  models=ModelManager(CATALOG, cache_dir=root / "hub", device="cpu", memory_budget_mb=100_000))


@pytest.fixture(scope="module")
def hub_studio(tmp_path_factory):
    """Every sound engine and the CLAP ranker, tiny, in the studio's Hub cache."""
    studio = _hub_studio(tmp_path_factory.mktemp("sound_studio"), [*GENERATORS, CATALOG.get(RANKER)])
    yield studio
    studio.close()


@pytest.fixture(scope="module")
def project(hub_studio) -> int:
    return hub_studio.projects.list()[0].id


def _sounds(studio, project) -> list:
    return studio.store.list_takes(project, kind="sound", limit=100)


@pytest.mark.parametrize("engine", GENERATORS, ids=lambda e: e.id)
def test_every_sound_engine_makes_ranked_candidates_kept_as_takes(hub_studio, project, engine):
    reports = []
    done = hub_studio.sound_generation.generate(
        SoundRequest(project, PROMPT, engine.id, seconds=1.0, seed=11, candidates=2, steps=2),
        progress=lambda fraction, message: reports.append(fraction))
    assert done.ranked_by == RANKER and done.notices == ()
    first, second = done.candidates
    assert first.similarity >= second.similarity  # best match first
    for candidate in done.candidates:
        take = hub_studio.takes.get(candidate.take.id)
        assert take.kind == "sound" and take.engine_id == engine.id and take.text == PROMPT
        assert take.engine_revision == engine.weights_revision() and take.seed in (11, 12)
        assert take.parameters["origin"] == "generated" and take.parameters["prompt"] == PROMPT
        assert take.scores["clap"] == pytest.approx(candidate.similarity, abs=1e-4)
        audio = hub_studio.takes.audio(take.id)
        assert audio.duration == pytest.approx(1.0, abs=0.05) and float(np.max(np.abs(audio.samples))) > 0
    assert {first.take.seed, second.take.seed} == {11, 12}
    assert reports == sorted(reports) and reports[-1] == 1.0 and len(reports) > 4
    again = hub_studio.sound_generation.generate(
        SoundRequest(project, PROMPT, engine.id, seconds=1.0, seed=first.take.seed, candidates=1, steps=2))
    np.testing.assert_array_equal(hub_studio.takes.audio(again.candidates[0].take.id).samples,
                                  hub_studio.takes.audio(first.take.id).samples)  # a seed remakes its sound


@pytest.mark.parametrize("request_fields, message", [
    ({"prompt": "  "}, "prompt is empty"),
    ({"seconds": 0.05}, "outside what"),
    ({"seconds": 400.0}, "outside what"),
    ({"candidates": 0}, "Candidates must be"),
    ({"candidates": 9}, "Candidates must be"),
    ({"steps": 0}, "steps=0"),
    ({"guidance": 0.2}, "guidance"),
    ({"seed": -3}, "[Ss]eed"),
    ({"engine_id": "kokoro-82m-embedded"}, "does not make sounds"),
    ({"engine_id": "no-such-engine"}, "unknown engine"),
])
def test_bad_requests_are_refused_and_keep_nothing(hub_studio, project, request_fields, message):
    engine = GENERATORS[-1].id
    before = len(_sounds(hub_studio, project))
    fields = {"project_id": project, "prompt": PROMPT, "engine_id": engine, "seconds": 1.0, **request_fields}
    with pytest.raises(ValueError, match=message):
        hub_studio.sound_generation.generate(SoundRequest(**fields))
    assert len(_sounds(hub_studio, project)) == before


def test_a_cancelled_generation_keeps_no_candidate(hub_studio, project):
    token = CancelToken()
    before = len(_sounds(hub_studio, project))
    seen = []

    def progress(fraction, message):
        seen.append(message)
        if "candidate 2" in message:
            token.cancel()

    with pytest.raises(Cancelled):
        hub_studio.sound_generation.generate(
            SoundRequest(project, PROMPT, GENERATORS[0].id, seconds=1.0, candidates=3, steps=2),
            progress=progress, cancel=token)
    assert any("candidate 2" in m for m in seen) and not any("candidate 3" in m for m in seen)
    assert len(_sounds(hub_studio, project)) == before


def test_a_seamless_bed_loops_without_a_seam_and_goes_under_a_narration(hub_studio, project):
    from pipelines.sound.placement import Placement
    from studio.sounds import PlaceRequest

    made = hub_studio.sound_generation.generate(
        SoundRequest(project, "soft wind", GENERATORS[0].id, seconds=2.0, seed=3, loop=True, steps=2))
    sound = made.candidates[0].take
    assert sound.parameters["loop"] is True and sound.duration == pytest.approx(1.5, abs=0.05)  # 0.5 s crossfade
    rate = 16000
    t = np.arange(4 * rate) / rate
    tone = Audio((0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32), rate)
    narration = hub_studio.sounds.import_sound(project, tone, "a tone standing in for a narration")
    placed = hub_studio.sounds.place(PlaceRequest(project, narration.id, sound.id,
                                                  Placement(at_s=0.5, length_s=3.0, loop=True)))
    assert placed.take.parent_id == narration.id and placed.take.parameters["sound_take"] == sound.id
    assert placed.placed.end_s == pytest.approx(3.5, abs=0.01)


def test_without_a_ranker_candidates_come_in_seed_order_and_say_why(tmp_path):
    studio = _hub_studio(tmp_path, GENERATORS[:1])
    try:
        project = studio.projects.list()[0].id
        done = studio.sound_generation.generate(
            SoundRequest(project, PROMPT, GENERATORS[0].id, seconds=1.0, seed=40, candidates=2, steps=2))
        assert done.ranked_by is None and [c.take.seed for c in done.candidates] == [40, 41]
        assert all(c.similarity is None and "clap" not in c.take.scores for c in done.candidates)
        assert "not on this machine" in done.notices[0]
    finally:
        studio.close()



def test_the_command_line_generates_and_an_engine_not_downloaded_is_refused_offline(tmp_path):
    """`python -m studio sounds generate`, run as a user would: with an engine on disk it keeps the candidates;
    offline, an engine never downloaded is refused in a sentence that says what to do, not a traceback."""
    import json
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT
    from tests.tiny.musicgen import BUILDERS

    folder = BUILDERS["musicgen-small"](tmp_path / "musicgen")
    env = {**os.environ, "RETAKE_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1",
           "HF_HUB_CACHE": str(tmp_path / "empty-hub"), "RETAKE_ENGINE_PATHS": f"musicgen-small={folder}"}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "studio", "sounds", "generate", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)

    done = cli("soft rain on leaves", "--engine", "musicgen-small", "--seconds", "1", "--candidates", "2",
               "--seed", "7", "--loop")
    assert done.returncode == 0, done.stderr
    made = json.loads(done.stdout)
    assert [t["seed"] for t in made["takes"]] == [7, 8] and made["ranked_by"] is None
    assert all(t["kind"] == "sound" and t["parameters"]["loop"] for t in made["takes"])
    assert "making candidate 2 of 2" in done.stderr
    refused = cli("thunder", "--engine", "stable-audio-open-1.0", "--seconds", "3")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "Stable Audio" in refused.stderr and "download" in refused.stderr.lower(), refused.stderr
