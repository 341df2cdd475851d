"""Edit tab: transcribe a take, edit its words, hear the result as a new take; plain waveform edits."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from studio.edit import DEFAULT_INSERT_ENGINE, Edit, EditOutcome
from studio.media import TRANSCRIBER
from studio.takes import Takes

from .cancellation import cancellable, current_token
from .choices import engine_choices, recent_take_choices
from .context import UIContext
from .errors import require_id, user_errors
from .fields import parse_seed, seed_box
from .playback import playable, player
from .waveform import waveform_figure

DIFF_COLORS = {"deleted": "red", "inserted": "green"}
WAVEFORM_CHOICES = [("Trim to start…end", "trim"), ("Cut start…end out", "cut"),
                    ("Insert silence at start", "silence"), ("Fade in (start s) and out (end s)", "fade")]


def edit_summary(outcome: EditOutcome) -> str:
    take, scores = outcome.take, outcome.take.scores
    lines = [f"Saved as take **#{take.id}** (from #{take.parent_id}); the original is unchanged.", "",
             "| edit | was | now | at (s) | engine / seed | seam check |", "|---|---|---|---|---|---|"]
    for e in outcome.result.edits:
        source = f"{e.provenance.get('engine_id', '')} / {e.provenance.get('seed', '')}" if e.provenance else "—"
        verdict = f"{e.check.verdict}: “{e.check.heard}”" if e.check else "not checked"
        verdict += " (kept words said again)" if e.check and e.check.kept_words_said_again else ""
        lines.append(f"| {e.kind} | {e.old_text or '—'} | {e.new_text or '—'} | {e.out_start:.2f} | {source} "
                     f"| {verdict} |")
    facts = [f"{scores.get('seams', 0)} seam(s)"]
    if scores.get("worst_seam_click") is not None:
        facts.append(f"worst seam click ratio {scores['worst_seam_click']:.2f} (≤ 1 is inaudible)")
    if scores.get("inserted_similarity") is not None:
        facts.append(f"inserted words sound {scores['inserted_similarity']:.2f} alike the recording")
    lines += ["", " · ".join(facts)]
    lines += [f"\n{n}" for n in outcome.notices]
    return "\n".join(lines)


@dataclass
class EditTab:
    take: gr.Dropdown
    upload: gr.Audio
    import_button: gr.Button
    transcriber: gr.Dropdown
    transcribe: gr.Button
    retranscribe: gr.Button
    text: gr.Textbox
    diff: gr.HighlightedText
    engine: gr.Dropdown
    seed: gr.Textbox
    apply: gr.Button
    back: gr.Button
    follow: gr.Button
    operation: gr.Radio
    start: gr.Number
    end: gr.Number
    seconds: gr.Number
    wave_run: gr.Button
    join_ids: gr.Dropdown
    gap: gr.Number
    join_run: gr.Button
    original: gr.Audio
    result: gr.Audio
    plot: gr.Plot
    summary: gr.Markdown
    new_take: gr.State

    @property
    def made(self) -> list:
        """What every edit that makes a take fills: result player, plot, summary, the new take, pickers."""
        return [self.result, self.plot, self.summary, self.new_take, self.take, self.join_ids]


class EditHandlers:
    def __init__(self, edit: Edit, takes: Takes) -> None:
        self.edit, self.takes = edit, takes

    @user_errors
    def list_takes(self, project_id, selected=None):
        """Fresh choices; `selected` becomes the chosen take (which loads it), otherwise none is chosen."""
        choices = recent_take_choices(self.takes, project_id)
        ids = {value for _, value in choices}
        value = int(selected) if selected not in (None, "") and int(selected) in ids else None
        return gr.update(choices=choices, value=value), gr.update(choices=choices, value=[])

    @user_errors
    def more_takes(self, project_id):
        """Fresh choices that keep the current selection (so the tab's outputs are not reloaded)."""
        choices = recent_take_choices(self.takes, project_id)
        return gr.update(choices=choices), gr.update(choices=choices)

    @user_errors
    def load(self, take_id):
        if take_id in (None, ""):
            return None, "", [], ""
        take_id = int(take_id)
        stored = self.edit.stored_transcript(take_id)
        note = "" if stored else "Not transcribed yet: press Transcribe."
        return playable(self.edit.audio(take_id)), stored.text if stored else "", [], note

    @user_errors
    def import_recording(self, project_id, path):
        if not path:
            raise ValueError("Upload or record a recording first.")
        new = self.takes.import_recording(int(project_id), path)
        return self.list_takes(project_id, new.id)

    def transcribing(self, refresh: bool):
        @cancellable
        @user_errors
        def run(take_id, engine_id, progress=gr.Progress()):
            take_id = require_id(take_id, "Choose a take to transcribe.")
            heard = self.edit.transcript(take_id, engine_id=engine_id or TRANSCRIBER, refresh=refresh,
                                         progress=lambda f, m: progress(f, desc=m), cancel=current_token())
            return heard.text, [], f"{len(heard.words)} words with timings, stored with take #{take_id}."
        return run

    @user_errors
    def preview(self, take_id, edited):
        if take_id in (None, "") or not (edited or "").strip():
            return []
        if self.edit.stored_transcript(int(take_id)) is None:
            return []
        return list(self.edit.preview(int(take_id), edited).segments)

    @cancellable
    @user_errors
    def apply_edits(self, project_id, take_id, edited, engine_id, seed_value, progress=gr.Progress()):
        take_id = require_id(take_id, "Choose a take to edit.")
        outcome = self.edit.apply(
            take_id, edited or "", engine_id=engine_id or None, seed=parse_seed(seed_value),
            progress=lambda f, m: progress(f, desc=m), project_id=int(project_id), cancel=current_token())
        spans = [(e.kind, e.out_start, e.out_end) for e in outcome.result.edits]
        figure = waveform_figure(outcome.result.audio, f"Take #{outcome.take.id}", spans, outcome.result.seams)
        return (playable(outcome.result.audio), figure, edit_summary(outcome), outcome.take.id,
                *self.more_takes(project_id))

    @user_errors
    def go_back(self, take_id):
        return self.edit.origin(require_id(take_id, "Choose a take first.")).id

    @user_errors
    def follow_new(self, new_id):
        if new_id in (None, ""):
            raise ValueError("Apply an edit first; then its new take can be edited further.")
        return int(new_id)

    @user_errors
    def waveform_edit(self, project_id, take_id, op, start_s, end_s, silence_s):
        take_id = require_id(take_id, "Choose a take to edit.")
        new = self.edit.waveform(take_id, op or "", start=start_s or 0, end=end_s or 0, seconds=silence_s or 0,
                                 project_id=int(project_id))
        audio = self.takes.audio(new.id)
        return (playable(audio), waveform_figure(audio, f"Take #{new.id}"),
                f"Saved as take **#{new.id}** ({op}, from #{take_id}).", new.id, *self.more_takes(project_id))

    @user_errors
    def join(self, project_id, ids, gap_s):
        new = self.edit.join([int(i) for i in ids or []], gap_s=gap_s if gap_s is not None else 0.3,
                             project_id=int(project_id))
        audio = self.takes.audio(new.id)
        return (playable(audio), waveform_figure(audio, f"Take #{new.id}"),
                f"Joined {len(ids)} takes into take **#{new.id}**.", new.id, *self.more_takes(project_id))


def render(ctx: UIContext) -> EditTab:
    statuses = ctx.studio.engines.statuses()  # one read for both engine pickers
    with gr.Row():
        with gr.Column(scale=1):
            take = gr.Dropdown(label="Take", choices=[], elem_id="edit-take", allow_custom_value=True)
            with gr.Accordion("…or bring in a recording", open=False):
                upload = gr.Audio(label="Recording", sources=["upload", "microphone"], type="filepath",
                                  elem_id="edit-upload")
                import_button = gr.Button("Import for editing", elem_id="edit-import")
            transcriber = gr.Dropdown(engine_choices(statuses, "transcribe"), value=TRANSCRIBER,
                                      label="Transcriber", elem_id="edit-transcriber")
            with gr.Row():
                transcribe = gr.Button("Transcribe", elem_id="edit-transcribe")
                retranscribe = gr.Button("Transcribe again", elem_id="edit-retranscribe")
            text = gr.Textbox(label="Transcript — edit the words", lines=6, elem_id="edit-text")
            diff = gr.HighlightedText(label="Changes", color_map=DIFF_COLORS, combine_adjacent=True,
                                      show_legend=True, elem_id="edit-diff")
            engine = gr.Dropdown(engine_choices(statuses, "speak"), value=DEFAULT_INSERT_ENGINE,
                                 label="Engine for new words", elem_id="edit-engine")
            seed = seed_box(elem_id="edit-seed")
            with gr.Row():
                apply = gr.Button("Apply edits", variant="primary", elem_id="edit-apply")
                back = gr.Button("Back to the original", elem_id="edit-back")
                follow = gr.Button("Edit the new take", elem_id="edit-follow")
            with gr.Accordion("Waveform edits", open=False):
                operation = gr.Radio(WAVEFORM_CHOICES, value="trim", label="Operation")
                with gr.Row():
                    start = gr.Number(label="start (s)", value=0.0, minimum=0)
                    end = gr.Number(label="end (s)", value=0.0, minimum=0)
                    seconds = gr.Number(label="silence (s)", value=0.5, minimum=0)
                wave_run = gr.Button("Apply waveform edit", elem_id="edit-wave-run")
                join_ids = gr.Dropdown(label="Takes to join, in order", choices=[], multiselect=True,
                                       allow_custom_value=True)
                gap = gr.Number(label="gap (s)", value=0.3, minimum=0)
                join_run = gr.Button("Join takes")
        with gr.Column(scale=1):
            original = player("Original", "edit-original")
            result = player("Edited", "edit-result")
            plot = gr.Plot(label="Where the edits landed", elem_id="edit-plot")
            summary = gr.Markdown(elem_id="edit-summary")
            new_take = gr.State(None)
    return EditTab(take, upload, import_button, transcriber, transcribe, retranscribe, text, diff, engine, seed,
                   apply, back, follow, operation, start, end, seconds, wave_run, join_ids, gap, join_run, original,
                   result, plot, summary, new_take)


def listen(ctx: UIContext, tab: EditTab) -> None:
    handle, project = EditHandlers(ctx.studio.edit, ctx.studio.takes), ctx.project
    heard = [tab.text, tab.diff, tab.summary]
    project.change(handle.list_takes, project, [tab.take, tab.join_ids], api_name="edit_takes")
    tab.take.change(handle.load, tab.take, [tab.original, tab.text, tab.diff, tab.summary], api_name="load_for_edit")
    imported = tab.import_button.click(handle.import_recording, [project, tab.upload], [tab.take, tab.join_ids],
                                       api_name="import_for_edit")
    tab.transcribe.click(handle.transcribing(False), [tab.take, tab.transcriber], heard, api_name="transcribe_take",
                         show_progress_on=tab.summary, **ctx.gpu)
    tab.retranscribe.click(handle.transcribing(True), [tab.take, tab.transcriber], heard,
                           api_name="retranscribe_take", show_progress_on=tab.summary, **ctx.gpu)
    tab.text.change(handle.preview, [tab.take, tab.text], tab.diff, api_name="preview_edit", show_progress="hidden")
    applied = tab.apply.click(handle.apply_edits, [project, tab.take, tab.text, tab.engine, tab.seed], tab.made,
                              api_name="apply_edit", show_progress_on=tab.summary, **ctx.gpu)
    tab.back.click(handle.go_back, tab.take, tab.take, api_name="edit_parent")
    tab.follow.click(handle.follow_new, tab.new_take, tab.take, api_name=False)
    waved = tab.wave_run.click(handle.waveform_edit,
                               [project, tab.take, tab.operation, tab.start, tab.end, tab.seconds], tab.made,
                               api_name="waveform_edit", show_progress_on=tab.summary)
    joined = tab.join_run.click(handle.join, [project, tab.join_ids, tab.gap], tab.made, api_name="join_takes",
                                show_progress_on=tab.summary)
    ctx.takes_changed.raised_by("edit", imported, applied, waved, joined)
    ctx.takes_changed.follow("edit", handle.more_takes, [project], [tab.take, tab.join_ids])
    ctx.page_load.then(handle.more_takes, [project], [tab.take, tab.join_ids])  # keeps a take chosen meanwhile
