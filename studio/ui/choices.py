"""The (label, value) pairs every picker offers, in one place: projects, voices, takes, narrations, chunk
attempts and engines. Labels carry the id (`#12`) so a person can match a take across tabs and API calls."""
from __future__ import annotations

import gradio as gr

from pipelines.manager import EngineStatus
from storage import Project, Take, Voice
from studio.takes import Takes

PICKER_LIMIT = 200  # newest takes a take picker offers

NO_VOICE = 0  # the Speak picker's "engine's own voice"
ENGINE_STATES = {"loaded": "offline, loaded", "embedded": "offline", "cached": "downloaded",
                 "not downloaded": "needs download", "not installed": "not installed"}


def project_choices(projects: list[Project]) -> list[tuple[str, int]]:
    return [(p.name, p.id) for p in projects]


def voice_choices(voices: list[Voice]) -> list[tuple[str, int]]:
    return [(f"{v.name} (#{v.id})", v.id) for v in voices]


def speaking_voice_choices(voices: list[Voice]) -> list[tuple[str, int]]:
    """The Speak picker: the engine's own voice first, then the project's voices."""
    return [("Engine's own voice", NO_VOICE)] + voice_choices(voices)


def voice_filter_choices(voices: list[Voice]) -> list[tuple[str, int]]:
    return [("All voices", 0)] + [(v.name, v.id) for v in voices]


def take_choices(takes: list[Take]) -> list[tuple[str, int]]:
    return [(f"#{t.id} {t.kind}: {short(t.text, 40) or '(no text)'}", t.id) for t in takes]


def recent_take_choices(takes: Takes, project_id) -> list[tuple[str, int]]:
    """A take picker's choices: the project's newest PICKER_LIMIT takes."""
    return take_choices(takes.list(int(project_id), page_size=PICKER_LIMIT))


def take_picker(takes: Takes, project_id, *, keep_choice: bool = False) -> dict:
    """A take picker refreshed: fresh choices, and the chosen take kept (`keep_choice`: takes made on other
    tabs arrived) or cleared (another project)."""
    choices = recent_take_choices(takes, project_id)
    return gr.update(choices=choices) if keep_choice else gr.update(choices=choices, value=None)


def narration_choices(takes: list[Take]) -> list[tuple[str, int]]:
    return take_choices([t for t in takes if t.kind == "speech"])


def attempt_choices(attempts: list[Take], kept_ids: set[int]) -> list[tuple[str, int]]:
    """A narration's chunk attempts, each with its seed and word error rate, the kept ones marked."""
    def label(t: Take) -> str:
        wer = t.scores.get("wer")
        score = f", WER {wer:.2f}" if isinstance(wer, (int, float)) else ""
        return (f"chunk {int(t.parameters.get('chunk', 0)) + 1} · #{t.id} seed {t.seed}{score}"
                f"{' · kept' if t.id in kept_ids else ''}")
    return [(label(t), t.id) for t in attempts]


STATE_RANK = {"loaded": 0, "embedded": 0, "cached": 1, "not downloaded": 2, "not installed": 3}


def engine_choices(statuses: list[EngineStatus], task: str) -> list[tuple[str, str]]:
    """(label, id) for every engine of `task`, what the person has first (offline and downloaded, then those
    needing a download, then those not installed; catalog order within each), each label naming the engine,
    its state, its licence, and a GPU or gated repo when it needs one: what will run is seen before pressing
    anything."""
    ranked = sorted((s for s in statuses if s.engine.task == task), key=lambda s: STATE_RANK.get(s.state, 4))
    return [(engine_label(s), s.engine.id) for s in ranked]


def engine_label(status: EngineStatus) -> str:
    engine = status.engine
    needs = [ENGINE_STATES.get(status.state, status.state)]
    if engine.gpu:
        needs.append("needs a GPU")
    if engine.gated and status.state == "not downloaded":
        needs.append("gated: accept its terms on the Hub")
    return f"{engine.name} — {', '.join(needs)} · {licence_summary(engine.licence)}"


def licence_summary(licence: str) -> str:
    """The licence up to its first parenthesis or comma ("CC-BY-NC-4.0 (weights: non-commercial), ..." ->
    "CC-BY-NC-4.0 (weights: non-commercial)"), kept whole when it says non-commercial or GPL."""
    if any(mark in licence for mark in ("GPL", "non-commercial", "-NC-")):
        return short(licence, 100)
    head = licence.split("),")[0] + (")" if ")," in licence else "")
    return short(head, 60)


def short(text: str | None, limit: int = 60) -> str:
    """One line of at most `limit` characters, for table cells and labels."""
    text = (text or "").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"
