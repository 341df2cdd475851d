"""The README's gradio_client example runs as written against the real app (only the server address and the
recording's path differ), and its table names every endpoint the app has."""
from __future__ import annotations

import re

import pytest

from tests.conftest import NO_TTS, speech_clip
from tests.e2e.conftest import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
pytest.importorskip("piper", reason=NO_TTS)

README = (ROOT / "README.md").read_text(encoding="utf-8")


def example() -> str:
    after = README[README.index("The main flow:"):]
    block = re.search(r"```python\n(.*?)```", after, re.S)
    assert block is not None
    return "\n".join(line[2:] for line in block.group(1).splitlines())  # the block is indented in a list


def test_the_main_flow_example_runs_as_written(running_app):
    code = example().replace('"http://127.0.0.1:7860/"', repr(running_app.url))
    code = code.replace('"me.wav"', repr(str(speech_clip("coqui_lj_LJ001-0008"))))
    scope: dict = {}
    exec(compile(code, "README example", "exec"), scope)  # noqa: S102 — the README's own code
    from gradio_client import Client
    client = Client(running_app.url, verbose=False)
    _, table, *_ = client.predict(scope["project"], 0, False, 1, api_name="/list_takes")
    kinds = sorted(row[2] for row in table["data"])
    assert kinds.count("edit") == 1 and kinds.count("enhanced") == 1 and "speech" in kinds, kinds
    edit = next(row for row in table["data"] if row[2] == "edit")
    assert "hello again" in str(edit).lower()  # the edited words are the new take's text


def test_the_endpoint_table_matches_the_app(running_app):
    from gradio_client import Client
    endpoints = set(Client(running_app.url, verbose=False).view_api(print_info=False,
                                                                    return_format="dict")["named_endpoints"])
    listed = set(re.findall(r"^  \| `(/[a-z_]+)` \|", README, re.M))
    assert endpoints == listed
