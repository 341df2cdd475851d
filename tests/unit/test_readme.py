"""CI must run exactly what the README tells a new developer to run."""
import re

from tests.conftest import ROOT


def readme_commands() -> list[str]:
    return re.findall(r"```bash\n(.+?)\n```", (ROOT / "README.md").read_text(), flags=re.S)


def test_readme_has_exactly_two_setup_commands_ending_in_app_and_pytest():
    commands = readme_commands()
    assert len(commands) == 2
    assert commands[0].endswith("python app.py") and "\n" not in commands[0]
    assert commands[1].endswith("python -m pytest") and "\n" not in commands[1]


def test_ci_runs_the_readme_test_command_verbatim():
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert readme_commands()[1] in ci_lines
