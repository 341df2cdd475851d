"""Scripts tab: a narration script as segments, each with its voice, takes and state; generate all in the
background, fix one line, keep pronunciations, render to one file with captions."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from pipelines import mastering
from studio.scripts import ScriptImport, Scripts, as_dict
from studio.service import Studio

from .cancellation import cancellable, current_token
from .choices import engine_choices, voice_choices
from .context import UIContext
from .errors import require_id, user_errors
from .fields import table as table_of
from .playback import playable, player

SEGMENT_HEADERS = ["#", "id", "speaker", "section", "state", "text", "take", "WER"]
SEGMENT_WIDTHS: list[str | int] = ["5%", "6%", "10%", "12%", "9%", "42%", "8%", "8%"]
FORMATS = ["mp3", "m4b", "wav", "flac"]
NO_VOICE = 0  # "the engine's own voice" in the voice pickers
POLL_S = 2.0


def segment_rows(scripts: Scripts, script_id: int) -> list[list]:
    rows = []
    for row in (as_dict(r) for r in scripts.status(script_id)):
        scores = row["scores"] if isinstance(row["scores"], dict) else {}
        wer = scores.get("wer_mean")
        state = row["state"] + (" · check it" if scores.get("chunks_failed") else "")  # failed the quality gate
        rows.append([row["position"] + 1, row["id"], row["speaker"] or "", row["section"] or "", state,
                     row["text"], f"#{row['take_id']}" if row["take_id"] else "",
                     f"{wer:.2f}" if isinstance(wer, (int, float)) else ""])
    return rows


def progress_note(studio: Studio, script_id: int) -> str:
    p = studio.script_jobs.progress(script_id)
    busy = " — generating in the background…" if p.requested and p.waiting else ""
    locked = f", {p.locked} locked without audio" if p.locked else ""
    return f"**{p.done} of {p.total}** segments have audio that matches them{locked}{busy}"


@dataclass
class ScriptsTab:
    name: gr.Textbox
    source: gr.Textbox
    upload: gr.File
    split: gr.Radio
    voice: gr.Dropdown
    tag_voices: gr.Textbox
    engine: gr.Dropdown
    create: gr.Button
    script: gr.Dropdown
    table: gr.Dataframe
    status: gr.Markdown
    generate: gr.Button
    timer: gr.Timer
    segment: gr.Dropdown
    text: gr.Textbox
    segment_voice: gr.Dropdown
    pause: gr.Number
    locked: gr.Checkbox
    save: gr.Button
    up: gr.Button
    down: gr.Button
    split_here: gr.Button
    merge: gr.Button
    delete: gr.Button
    regenerate: gr.Button
    takes: gr.Dropdown
    use_take: gr.Button
    heard: gr.Audio
    word: gr.Textbox
    respelling: gr.Textbox
    add_word: gr.Button
    fmt: gr.Radio
    target: gr.Dropdown
    render: gr.Button
    files: gr.File
    report: gr.Markdown


class ScriptHandlers:
    def __init__(self, studio: Studio) -> None:
        self.studio, self.scripts = studio, studio.scripts

    @user_errors
    def voices(self, project_id):
        voices = voice_choices(self.studio.voices.list(int(project_id)))
        return (gr.update(choices=[("the engine's own voice", NO_VOICE), *voices]),
                gr.update(choices=[("the script's voice", NO_VOICE), *voices]))

    @user_errors
    def pickers(self, project_id):
        """The project's voices and scripts (the newest chosen)."""
        scripts = [(s.name, s.id) for s in self.scripts.of_project(int(project_id))]
        return (*self.voices(project_id), gr.update(choices=scripts, value=scripts[-1][1] if scripts else None))

    @user_errors
    def create(self, project_id, name, source, upload, split, voice_id, tag_voices, engine_id):
        if upload:
            with open(upload, encoding="utf-8") as f:
                source = f.read()
        tags = self._tags(int(project_id), tag_voices or "")
        script = self.scripts.create(ScriptImport(
            int(project_id), name or "Script", source or "", split=split or "paragraph",
            voice_id=int(voice_id) if voice_id else None, voices=tags, engine_id=engine_id))
        scripts = [(s.name, s.id) for s in self.scripts.of_project(int(project_id))]
        return gr.update(choices=scripts, value=script.id), f"Kept **{script.name}** as a script."

    def _tags(self, project_id: int, text: str) -> dict[str, int | None]:
        """'NARRATOR=Ada, BOB=Bob' -> tag -> voice id (by the voice's name)."""
        by_name = {v.name.casefold(): v.id for v in self.studio.voices.list(project_id)}
        tags: dict[str, int | None] = {}
        for item in filter(None, (part.strip() for part in text.replace("\n", ",").split(","))):
            tag, sep, name = item.partition("=")
            if not sep or name.strip().casefold() not in by_name:
                raise ValueError(f"Write speaker voices as TAG=voice name, with a voice of this project; "
                                 f"{item!r} is not.")
            tags[tag.strip()] = by_name[name.strip().casefold()]
        return tags

    @user_errors
    def show(self, script_id):
        if script_id in (None, ""):
            return [], "", gr.update(choices=[], value=None)
        script_id = int(script_id)
        rows = segment_rows(self.scripts, script_id)
        choices = [(f"{r[0]}. {r[5][:50]}", r[1]) for r in rows]
        return rows, progress_note(self.studio, script_id), gr.update(choices=choices)

    @user_errors
    def generate_all(self, script_id):
        script_id = require_id(script_id, "Choose a script.")
        queued = self.studio.script_jobs.generate_all(script_id)
        note = progress_note(self.studio, script_id)
        if not queued:
            note = f"Every segment already has matching audio. {note}"
        return segment_rows(self.scripts, script_id), note, gr.update(active=bool(queued))

    @user_errors
    def poll(self, project_id, script_id, segment_id, shown_take):
        """While a generation runs: the table and progress, every few seconds; the timer stops when it ends.
        The segment being looked at gets its takes and player refreshed once a job gives it a new take (only
        then, so a take being listened to is not restarted)."""
        if script_id in (None, ""):
            return gr.update(), gr.update(), gr.update(active=False), gr.skip(), gr.skip()
        script_id = int(script_id)
        waiting = self.studio.script_jobs.progress(script_id).waiting
        takes, heard = gr.skip(), gr.skip()
        if segment_id not in (None, ""):
            segment = self.scripts.segment(int(segment_id), int(project_id))
            if segment.chosen_take_id and segment.chosen_take_id != (int(shown_take) if shown_take else None):
                *_, takes, heard = self.pick_segment(project_id, segment_id)
        return segment_rows(self.scripts, script_id), progress_note(self.studio, script_id), \
            gr.update(active=bool(waiting)), takes, heard

    @user_errors
    def pick_segment(self, project_id, segment_id):
        if segment_id in (None, ""):
            return "", NO_VOICE, 0.0, False, gr.update(choices=[], value=None), None
        segment = self.scripts.segment(int(segment_id), int(project_id))
        takes = [(f"#{t.id}" + (" (chosen)" if t.id == segment.chosen_take_id else ""), t.id)
                 for t in self.scripts.segment_takes(segment.id)]
        audio = playable(self.studio.takes.audio(segment.chosen_take_id)) if segment.chosen_take_id else None
        return (segment.text, segment.voice_id or NO_VOICE, segment.pause_after_s, segment.locked,
                gr.update(choices=takes, value=segment.chosen_take_id), audio)

    @user_errors
    def save_segment(self, project_id, script_id, segment_id, text, voice_id, pause, locked):
        segment = require_id(segment_id, "Choose a segment.")
        self.scripts.edit_segment(segment, text=text or "", voice_id=int(voice_id) if voice_id else None,
                                  pause_after_s=float(pause) if pause is not None else None, locked=bool(locked),
                                  project_id=int(project_id))
        return self.show(script_id)

    def arranging(self, action: str):
        """Move up/down, split at the | in its text, merge with the next, delete: the table and picker after."""
        @user_errors
        def run(project_id, script_id, segment_id, text):
            segment, project = require_id(segment_id, "Choose a segment."), int(project_id)
            if action in ("up", "down"):
                self.scripts.move(segment, -1 if action == "up" else 1, project)
            elif action == "split":
                self.scripts.split(segment, text or "", project)
            elif action == "merge":
                self.scripts.merge_next(segment, project)
            else:
                self.scripts.delete_segment(segment, project)
            rows, status, picker = self.show(script_id)
            keep = None if action == "delete" else segment
            return rows, status, gr.update(choices=picker["choices"], value=keep)
        return run

    @cancellable
    @user_errors
    def regenerate(self, project_id, script_id, segment_id, progress=gr.Progress()):
        segment = self.scripts.segment(require_id(segment_id, "Choose a segment."), int(project_id)).id
        take = self.scripts.generate_segment(segment, force=True, cancel=current_token(),
                                             progress=lambda f, m: progress(f, desc=m))
        note = f"Segment spoken again as take #{take.id}." if take else "The segment is locked."
        rows, status, _ = self.show(script_id)
        return rows, f"{note} {status}", playable(self.studio.takes.audio(take.id)) if take else None

    @user_errors
    def use_take(self, project_id, script_id, segment_id, take_id):
        segment = require_id(segment_id, "Choose a segment.")
        take = require_id(take_id, "Choose one of the segment's takes.")
        self.scripts.choose(segment, take, int(project_id))
        return self.show(script_id)[:2] + (playable(self.studio.takes.audio(take)),)

    @user_errors
    def add_word(self, project_id, script_id, word, respelling):
        entry = self.scripts.set_pronunciation(int(project_id), word or "", respelling or "")
        rows, status, _ = self.show(script_id) if script_id not in (None, "") else ([], "", None)
        return rows, f"“{entry.word}” is now said “{entry.respelling}”. {status}", "", ""

    @cancellable
    @user_errors
    def render(self, script_id, fmt, target, progress=gr.Progress()):
        script_id = require_id(script_id, "Choose a script.")
        result = self.scripts.render(script_id, fmt=fmt or "mp3", target=target or None,
                                     progress=lambda f, m: progress(f, desc=m), cancel=current_token())
        files = self.scripts.export_files(result)
        level = ""
        if result.level:
            level = f" Loudness {result.level.get('integrated_lufs', 0):.1f} LUFS: " + \
                ("meets" if result.level.get("passed") else "misses") + f" {target}."
        notes = "".join(f"\n- {n}" for n in result.notices)
        return [str(f) for f in files], f"Rendered take **#{result.take.id}** ({result.take.duration:.1f} s).{level}" \
            + notes


def render(ctx: UIContext) -> ScriptsTab:
    studio = ctx.studio
    with gr.Row():
        with gr.Column(scale=1):
            gr.Markdown("### A new script")
            name = gr.Textbox(label="Name", placeholder="Chapter 1", elem_id="script-name")
            source = gr.Textbox(label="Script (text, Markdown or SRT)", lines=8, elem_id="script-source",
                                placeholder="NARRATOR: It was a dark night.\n\nADA: Was it?")
            upload = gr.File(label="…or a script file", file_types=[".txt", ".md", ".srt"], type="filepath")
            split = gr.Radio(["paragraph", "sentence"], value="paragraph", label="One segment per")
            voice = gr.Dropdown(label="Voice of untagged lines", choices=[], elem_id="script-voice",
                                allow_custom_value=True)
            tag_voices = gr.Textbox(label="Voices of speaker tags", placeholder="NARRATOR=Ada, BOB=Bob",
                                    elem_id="script-tags")
            engine = gr.Dropdown(engine_choices(studio.engines.statuses(), "speak"), value="piper-joe-embedded",
                                 label="Engine", elem_id="script-engine")
            create = gr.Button("Keep as a script", elem_id="script-create")
            gr.Markdown("### Pronunciations (this project)")
            with gr.Row():
                word = gr.Textbox(label="Word", elem_id="lexicon-word")
                respelling = gr.Textbox(label="Say it as", placeholder="respelling, or /phonemes/",
                                        elem_id="lexicon-respelling")
            add_word = gr.Button("Keep pronunciation")
        with gr.Column(scale=2):
            script = gr.Dropdown(label="Script", choices=[], elem_id="script-select", allow_custom_value=True)
            status = gr.Markdown(elem_id="script-status")
            generate = gr.Button("Generate all", variant="primary", elem_id="script-generate")
            table = table_of(SEGMENT_HEADERS, "script-segments", SEGMENT_WIDTHS)
            timer = gr.Timer(POLL_S, active=False)
            with gr.Row():
                segment = gr.Dropdown(label="Segment", choices=[], elem_id="script-segment", allow_custom_value=True)
                locked = gr.Checkbox(label="Locked (never regenerated)", elem_id="script-locked")
            with gr.Row():
                text = gr.Textbox(label="Its text (put a | where to split it)", lines=3, elem_id="script-text",
                                  scale=3)
                with gr.Column(scale=1):
                    segment_voice = gr.Dropdown(label="Its voice", choices=[], elem_id="script-segment-voice",
                                                allow_custom_value=True)
                    pause = gr.Number(label="Pause after (s)", minimum=0, maximum=60, elem_id="script-pause")
            with gr.Row():
                save = gr.Button("Save segment", elem_id="script-save")
                regenerate = gr.Button("Speak it again", elem_id="script-regenerate")
            with gr.Row():
                up = gr.Button("↑ Move up", size="sm", elem_id="script-up")
                down = gr.Button("↓ Move down", size="sm", elem_id="script-down")
                split_here = gr.Button("Split at |", size="sm", elem_id="script-split")
                merge = gr.Button("Merge with next", size="sm", elem_id="script-merge")
                delete = gr.Button("Delete", size="sm", variant="stop", elem_id="script-delete")
            with gr.Row():
                takes = gr.Dropdown(label="Its takes", choices=[], elem_id="script-takes", allow_custom_value=True)
                use_take = gr.Button("Use this take", elem_id="script-use-take")
            heard = player("Segment", "script-heard")
            with gr.Row():
                fmt = gr.Radio(FORMATS, value="mp3", label="Format", elem_id="script-format")
                target = gr.Dropdown([("none", "")] + [(t, t) for t in mastering.TARGETS], value="",
                                     label="Loudness target", elem_id="script-target")
            render_button = gr.Button("Render", elem_id="script-render")
            files = gr.File(label="Rendered files", file_count="multiple", interactive=False,
                            elem_id="script-files")
            report = gr.Markdown(elem_id="script-report")
    return ScriptsTab(name, source, upload, split, voice, tag_voices, engine, create, script, table, status,
                      generate, timer, segment, text, segment_voice, pause, locked, save, up, down, split_here, merge,
                      delete, regenerate, takes, use_take, heard, word,
                      respelling, add_word, fmt, target, render_button, files, report)


def listen(ctx: UIContext, tab: ScriptsTab) -> None:
    handle, project = ScriptHandlers(ctx.studio), ctx.project
    tab.create.click(handle.create, [project, tab.name, tab.source, tab.upload, tab.split, tab.voice, tab.tag_voices,
                                     tab.engine], [tab.script, tab.report], api_name="create_script")
    tab.script.change(handle.show, tab.script, [tab.table, tab.status, tab.segment], api_name="script_status")
    tab.generate.click(handle.generate_all, tab.script, [tab.table, tab.status, tab.timer],
                       api_name="generate_script")
    tab.timer.tick(handle.poll, [project, tab.script, tab.segment, tab.takes],
                   [tab.table, tab.status, tab.timer, tab.takes, tab.heard], show_progress="hidden",
                   api_visibility="private")
    tab.segment.change(handle.pick_segment, [project, tab.segment],
                       [tab.text, tab.segment_voice, tab.pause, tab.locked, tab.takes, tab.heard],
                       api_name="script_segment")
    tab.save.click(handle.save_segment,
                   [project, tab.script, tab.segment, tab.text, tab.segment_voice, tab.pause, tab.locked],
                   [tab.table, tab.status, tab.segment], api_name="save_segment")
    for button, action in ((tab.up, "up"), (tab.down, "down"), (tab.split_here, "split"), (tab.merge, "merge"),
                           (tab.delete, "delete")):
        button.click(handle.arranging(action), [project, tab.script, tab.segment, tab.text],
                     [tab.table, tab.status, tab.segment], api_name=f"segment_{action}")
    tab.regenerate.click(handle.regenerate, [project, tab.script, tab.segment], [tab.table, tab.status, tab.heard],
                         api_name="regenerate_segment", show_progress_on=tab.status, **ctx.gpu)
    tab.use_take.click(handle.use_take, [project, tab.script, tab.segment, tab.takes], [tab.table, tab.status, tab.heard],
                       api_name="choose_segment_take")
    tab.add_word.click(handle.add_word, [project, tab.script, tab.word, tab.respelling],
                       [tab.table, tab.status, tab.word, tab.respelling], api_name="set_pronunciation")
    tab.render.click(handle.render, [tab.script, tab.fmt, tab.target], [tab.files, tab.report],
                     api_name="render_script", show_progress_on=tab.report, **ctx.gpu)
    project.change(handle.pickers, project, [tab.voice, tab.segment_voice, tab.script], api_visibility="private")
    ctx.voices_changed.follow("scripts", handle.voices, [project], [tab.voice, tab.segment_voice])
    ctx.page_load.then(handle.pickers, [project], [tab.voice, tab.segment_voice, tab.script])
