"""The Hugging Face Space: its card, the repository spaces/assemble.py builds, the entry's defaults, and the
ZeroGPU wrapper (pipelines/zerogpu.py) with a stand-in `spaces` package (the real one patches torch on import)."""
from __future__ import annotations

import ast
import dataclasses
import importlib.util
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest
import yaml

from pipelines import zerogpu
from pipelines.catalog import Catalog
from pipelines.manager import ModelManager
from pipelines.narration import Narrator
from tests.conftest import ROOT
from tests.fakes import FAKE_ENGINE, FakeSpeak, catalog_with_fake

SPACES = ROOT / "spaces"


def load_assemble() -> types.ModuleType:
    """spaces/assemble.py by its path: `spaces` is also the name of the ZeroGPU package."""
    spec = importlib.util.spec_from_file_location("retake_space_assemble", SPACES / "assemble.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


assemble = load_assemble()


def front_matter(path: Path) -> dict:
    match = re.match(r"---\n(.*?)\n---\n", path.read_text(encoding="utf-8"), flags=re.S)
    assert match, f"{path} has no front matter"
    return yaml.safe_load(match.group(1))


def pinned_gradio() -> str:
    (version,) = re.findall(r"(?m)^gradio==(\S+)", (ROOT / "requirements-core.txt").read_text())
    return version


@pytest.fixture(scope="module")
def space(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("space") / "repo"
    assemble.assemble(out)
    return out


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# The card ----------------------------------------------------------------------------------------------------
def test_the_card_is_a_gradio_space_on_the_pinned_gradio_with_sign_in():
    card = front_matter(SPACES / "README.md")
    assert card["sdk"] == "gradio"
    assert str(card["sdk_version"]) == pinned_gradio() == assemble.pinned_version("gradio")
    assert card["app_file"] == "app.py"
    assert card["hf_oauth"] is True
    assert card["license"] == "apache-2.0"
    assert card["suggested_hardware"] in ("zero-a10g", "cpu-upgrade", "t4-small", "l4x1", "a10g-small", "a100-large")
    assert tuple(int(n) for n in str(card["python_version"]).split(".")) >= (3, 11)  # tomllib, pyproject
    assert 0 < len(card["short_description"]) <= 60  # the Hub's limit


def test_preloaded_models_are_hub_repos_of_ungated_speak_engines_of_the_catalog():
    preload = front_matter(SPACES / "README.md")["preload_from_hub"]
    repos = {}
    for engine in Catalog.load().for_task("speak"):
        for repo in [engine.hub_repo, *(c.repo for c in engine.components)]:
            if repo:
                repos[repo] = engine
    assert preload and len(preload) == len(set(preload))
    for entry in preload:
        repo = entry.split()[0]
        assert repo in repos, f"{repo} is not a repo of a speak engine"
        assert not repos[repo].gated, f"{repo} is gated: the build cannot download it"
    whole = {e.id for e in repos.values() if e.hub_repo in preload}  # every part of a preloaded engine is there
    assert all(c.repo in preload for e in repos.values() if e.id in whole for c in e.components)


def test_the_assembled_card_matches_the_pin_and_names_a_file_that_is_there(space):
    card = front_matter(space / "README.md")
    assert str(card["sdk_version"]) == pinned_gradio()
    assert (space / card["app_file"]).is_file()
    assert card == front_matter(SPACES / "README.md")


# The assembled repository ------------------------------------------------------------------------------------
def test_the_space_holds_the_studio_and_its_entry(space):
    names = sorted(p.name for p in space.iterdir())
    assert names == ["README.md", "app.py", "packages.txt", "pipelines", "requirements.txt", "retake_app.py",
                     "storage", "studio"]
    assert (space / "retake_app.py").read_bytes() == (ROOT / "app.py").read_bytes()
    assert (space / "app.py").read_bytes() == (SPACES / "app.py").read_bytes()
    assert (space / "pipelines" / "catalog.toml").is_file() and (space / "storage" / "migrations").is_dir()
    assert not list(space.rglob("__pycache__")) and not list(space.rglob("*.pyc"))
    assert "ffmpeg" in (space / "packages.txt").read_text().split()


def test_requirements_are_flat_and_add_spaces(space):
    lines = (space / "requirements.txt").read_text().splitlines()
    wanted = [line for line in lines if not line.startswith("#")]
    assert not [line for line in wanted if line.startswith("-") or "#" in line or not line.strip()]
    assert len(wanted) == len(set(wanted))
    assert f"gradio[oauth]=={pinned_gradio()}" in wanted and "spaces==0.51.3" in wanted  # sign-in, ZeroGPU
    assert {"piper-tts==1.8.0", "torch==2.13.0", "PyYAML==6.0.4"} <= set(wanted)  # both requirement files
    assert not {"pytest==9.2.0"} & set(wanted)  # development tools stay out


def test_assembling_twice_gives_the_same_files(space, tmp_path):
    assemble.assemble(tmp_path / "again")
    assert tree(tmp_path / "again") == tree(space)


def test_a_folder_that_is_not_empty_is_refused_unless_forced(tmp_path):
    out = tmp_path / "out"
    (out / ".git").mkdir(parents=True)
    (out / "notes.txt").write_text("mine")
    with pytest.raises(assemble.NotEmpty, match="--force"):
        assemble.assemble(out)
    cli = subprocess.run([sys.executable, str(SPACES / "assemble.py"), str(out)], capture_output=True, text=True)
    assert cli.returncode == 1 and "not empty" in cli.stderr
    assert sorted(p.name for p in out.iterdir()) == [".git", "notes.txt"]
    cli = subprocess.run([sys.executable, str(SPACES / "assemble.py"), "--force", str(out)], capture_output=True,
                         text=True)
    assert cli.returncode == 0, cli.stderr
    assert "studio/ (" in cli.stdout and "requirements.txt" in cli.stdout
    assert (out / ".git").is_dir() and not (out / "notes.txt").exists() and (out / "app.py").is_file()


@pytest.mark.parametrize("limit", [None, "120"])
def test_the_entry_sets_space_defaults_then_runs_the_studio(limit, space, tmp_path):
    """The Space's app.py with the studio's launcher swapped for one that prints what it was given."""
    stub = tmp_path / "stub"
    (stub / "studio").mkdir(parents=True)  # what tells the entry it is at the top of a Space
    (stub / "app.py").write_bytes((space / "app.py").read_bytes())
    (stub / "retake_app.py").write_text(
        "import os\n\ndef main():\n"
        "    print({k: v for k, v in sorted(os.environ.items()) if k.startswith('RETAKE_')})\n    return 3\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RETAKE_", "SPACES_"))}
    env.update({"PORT": "43210", "TMPDIR": str(tmp_path)}, **({"RETAKE_MAX_AUDIO_SECONDS": limit} if limit else {}))
    run = subprocess.run([sys.executable, "app.py"], cwd=stub, capture_output=True, text=True, env=env)
    assert run.returncode == 3, run.stderr
    seen = ast.literal_eval(run.stdout)  # the stub's dict
    data = "/data/retake" if os.access("/data", os.W_OK) and Path("/data").is_dir() else str(tmp_path / "retake")
    assert seen == {"RETAKE_DATA_DIR": data, "RETAKE_HOST": "0.0.0.0", "RETAKE_MAX_AUDIO_SECONDS": limit or "300",
                    "RETAKE_PORT": "43210"}  # what the Space's settings set wins over the defaults


# ZeroGPU -----------------------------------------------------------------------------------------------------
class FakeSpaces(types.ModuleType):
    """Stands in for the `spaces` package: GPU(task, duration=...) records the seconds asked for each call."""

    def __init__(self) -> None:
        super().__init__("spaces")
        self.asked: list[int] = []
        self.wrapped: list[object] = []

    def GPU(self, task=None, *, duration=None):  # noqa: N802 (spaces' name)
        self.wrapped.append(task)

        def call(*args, **kwargs):
            self.asked.append(duration(*args, **kwargs) if callable(duration) else duration)
            return task(*args, **kwargs)
        return call


@pytest.fixture
def fake_spaces(monkeypatch) -> FakeSpaces:
    fake = FakeSpaces()
    monkeypatch.setitem(sys.modules, "spaces", fake)
    monkeypatch.setenv(zerogpu.ENV, "true")
    return fake


def gpu_engine() -> FakeSpeak:
    engine = FakeSpeak()
    engine.device = "cuda"  # type: ignore[attr-defined]
    return engine


def test_the_duration_grows_with_the_text_within_bounds():
    assert zerogpu.gpu_seconds("") == zerogpu.MIN_SECONDS
    assert zerogpu.gpu_seconds("word " * 80) == 70  # 400 characters: 10 s + 0.15 s each
    assert zerogpu.gpu_seconds("word " * 80) < zerogpu.gpu_seconds("word " * 100)
    assert zerogpu.gpu_seconds("x" * 100_000, voice=None, seed=1) == zerogpu.MAX_SECONDS
    assert zerogpu.gpu_seconds(b"not text") == zerogpu.MIN_SECONDS


def test_on_zerogpu_a_cuda_engine_asks_for_a_gpu_for_its_text(fake_spaces):
    engine = gpu_engine()
    call = zerogpu.on_gpu(engine)
    assert call is not engine and fake_spaces.wrapped == [engine.__call__]
    audio = call("hello there", seed=4, speaker="bob")
    assert engine.calls == [("hello there", 4)] and audio.num_samples > 0
    assert fake_spaces.asked == [zerogpu.gpu_seconds("hello there")]


@pytest.mark.parametrize("case", ["no variable", "variable false", "no package", "engine on cpu"])
def test_anywhere_else_the_engine_is_called_as_it_is(case, fake_spaces, monkeypatch):
    engine = FakeSpeak() if case == "engine on cpu" else gpu_engine()
    if case == "no variable":
        monkeypatch.delenv(zerogpu.ENV)
    elif case == "variable false":
        monkeypatch.setenv(zerogpu.ENV, "false")
    elif case == "no package":
        monkeypatch.setitem(sys.modules, "spaces", None)  # `import spaces` raises ImportError
    assert zerogpu.on_gpu(engine) is engine
    assert zerogpu.placement(False, "cuda", "bfloat16") == (("cpu", "float32") if case == "engine on cpu"
                                                           else ("cuda", "bfloat16"))
    assert fake_spaces.asked == [] and fake_spaces.wrapped == []


def test_a_narration_asks_for_a_gpu_for_each_chunk_it_speaks(fake_spaces):
    engine = gpu_engine()
    narrator = Narrator(engine)
    narrator("First sentence here. " * 8 + "And a second part that makes another chunk. " * 4, seed=2)
    assert len(engine.calls) > 1
    assert fake_spaces.asked == [zerogpu.gpu_seconds(text) for text, _ in engine.calls]


def test_on_zerogpu_the_manager_keeps_engines_not_marked_gpu_on_the_cpu(fake_spaces, monkeypatch):
    loaded: list[tuple[str, str | None]] = []

    def record(cls, model_path, *, device="cpu", dtype=None, **options):
        loaded.append((device, dtype))
        return cls()

    monkeypatch.setattr(FakeSpeak, "from_pretrained", classmethod(record))
    catalog = catalog_with_fake()
    big = dataclasses.replace(catalog.get(FAKE_ENGINE), id="fake-gpu", gpu=True)
    manager = ModelManager(Catalog([*catalog, big]), device="cuda", dtype="float16",
                           local_paths={FAKE_ENGINE: ROOT, "fake-gpu": ROOT})
    manager.get(FAKE_ENGINE)
    manager.get("fake-gpu")
    assert loaded == [("cpu", "float32"), ("cuda", "float16")]
