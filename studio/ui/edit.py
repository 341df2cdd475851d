"""Edit tab: transcribe a take, edit its words, hear the result as a new take; plain waveform edits."""
from __future__ import annotations

import gradio as gr

from pipelines import audio as au
from studio.edit import DEFAULT_INSERT_ENGINE, EditOutcome
from studio.media import TRANSCRIBER
from studio.service import Studio

from .cancellation import cancellable, current_token
from .errors import require_id, user_errors
from .fields import engine_choices, parse_seed, seed_box
from .takes import take_choices
from .waveform import waveform_figure

DIFF_COLORS = {"deleted": "red", "inserted": "green"}
WAVEFORM_CHOICES = [("Trim to start…end", "trim"), ("Cut start…end out", "cut"),
                    ("Insert silence at start", "silence"), ("Fade in (start s) and out (end s)", "fade")]


def edit_summary(outcome: EditOutcome) -> str:
    take, scores = outcome.take, outcome.take.scores
    lines = [f"Saved as take **#{take.id}** (from #{take.parent_id}); the original is unchanged.", "",
             "| edit | was | now | at (s) | engine / seed |", "|---|---|---|---|---|"]
    for e in outcome.result.edits:
        source = f"{e.provenance.get('engine_id', '')} / {e.provenance.get('seed', '')}" if e.provenance else "—"
        lines.append(f"| {e.kind} | {e.old_text or '—'} | {e.new_text or '—'} | {e.out_start:.2f} | {source} |")
    facts = [f"{scores.get('seams', 0)} seam(s)"]
    if scores.get("worst_seam_click") is not None:
        facts.append(f"worst seam click ratio {scores['worst_seam_click']:.2f} (≤ 1 is inaudible)")
    if scores.get("inserted_similarity") is not None:
        facts.append(f"inserted words sound {scores['inserted_similarity']:.2f} alike the recording")
    lines += ["", " · ".join(facts)]
    lines += [f"\n{n}" for n in outcome.notices]
    return "\n".join(lines)


def render(studio: Studio, project: gr.Dropdown) -> dict:
    statuses = studio.engines.statuses()  # one read for both engine pickers
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
            original = gr.Audio(label="Original", type="numpy", interactive=False, elem_id="edit-original")
            result = gr.Audio(label="Edited", type="numpy", interactive=False, elem_id="edit-result")
            plot = gr.Plot(label="Where the edits landed", elem_id="edit-plot")
            summary = gr.Markdown(elem_id="edit-summary")
            new_take = gr.State(None)

    @user_errors
    def list_takes(project_id, selected=None):
        """Fresh choices; `selected` becomes the chosen take (which loads it), otherwise none is chosen."""
        choices = take_choices(studio.takes.list(int(project_id), page_size=200))
        ids = {value for _, value in choices}
        value = int(selected) if selected not in (None, "") and int(selected) in ids else None
        return gr.update(choices=choices, value=value), gr.update(choices=choices, value=[])

    def more_takes(project_id):
        """Fresh choices that keep the current selection (so the tab's outputs are not reloaded)."""
        choices = take_choices(studio.takes.list(int(project_id), page_size=200))
        return gr.update(choices=choices), gr.update(choices=choices)

    @user_errors
    def load(take_id):
        if take_id in (None, ""):
            return None, "", [], ""
        take_id = int(take_id)
        stored = studio.store.get_transcript(take_id)
        text_value = stored.text if stored else ""
        note = "" if stored else "Not transcribed yet: press Transcribe."
        return au.to_gradio(studio.edit.audio(take_id)), text_value, [], note

    @user_errors
    def import_recording(project_id, path):
        if not path:
            raise ValueError("Upload or record a recording first.")
        new = studio.takes.import_recording(int(project_id), path)
        takes_update, join_update = list_takes(project_id, new.id)
        return takes_update, join_update

    def transcribing(refresh: bool):
        @user_errors
        def run(take_id, engine_id, progress=gr.Progress()):
            take_id = require_id(take_id, "Choose a take to transcribe.")
            heard = studio.edit.transcript(take_id, engine_id=engine_id or TRANSCRIBER, refresh=refresh,
                                              progress=lambda f, m: progress(f, desc=m))
            return heard.text, [], f"{len(heard.words)} words with timings, stored with take #{take_id}."
        return run

    @user_errors
    def preview(take_id, edited):
        if take_id in (None, "") or not (edited or "").strip():
            return []
        if studio.store.get_transcript(int(take_id)) is None:
            return []
        return list(studio.edit.preview(int(take_id), edited).segments)

    @cancellable
    @user_errors
    def apply_edits(project_id, take_id, edited, engine_id, seed_value, progress=gr.Progress()):
        take_id = require_id(take_id, "Choose a take to edit.")
        outcome = studio.edit.apply(
            take_id, edited or "", engine_id=engine_id or None,
            seed=parse_seed(seed_value),
            progress=lambda f, m: progress(f, desc=m), project_id=int(project_id), cancel=current_token())
        spans = [(e.kind, e.out_start, e.out_end) for e in outcome.result.edits]
        figure = waveform_figure(outcome.result.audio, f"Take #{outcome.take.id}", spans, outcome.result.seams)
        takes_update, join_update = more_takes(project_id)
        return (au.to_gradio(outcome.result.audio), figure, edit_summary(outcome), outcome.take.id,
                takes_update, join_update)

    @user_errors
    def go_back(take_id):
        take_id = require_id(take_id, "Choose a take first.")
        return studio.edit.origin(take_id).id

    @user_errors
    def follow_new(new_id):
        if new_id in (None, ""):
            raise ValueError("Apply an edit first; then its new take can be edited further.")
        return int(new_id)

    @user_errors
    def waveform_edit(project_id, take_id, op, start_s, end_s, silence_s):
        take_id = require_id(take_id, "Choose a take to edit.")
        new = studio.edit.waveform(take_id, op or "", start=start_s or 0, end=end_s or 0,
                                      seconds=silence_s or 0, project_id=int(project_id))
        audio = studio.takes.audio(new.id)
        takes_update, join_update = more_takes(project_id)
        return (au.to_gradio(audio), waveform_figure(audio, f"Take #{new.id}"),
                f"Saved as take **#{new.id}** ({op}, from #{take_id}).", new.id, takes_update, join_update)

    @user_errors
    def join(project_id, ids, gap_s):
        new = studio.edit.join([int(i) for i in ids or []], gap_s=gap_s if gap_s is not None else 0.3,
                               project_id=int(project_id))
        audio = studio.takes.audio(new.id)
        takes_update, join_update = more_takes(project_id)
        return (au.to_gradio(audio), waveform_figure(audio, f"Take #{new.id}"),
                f"Joined {len(ids)} takes into take **#{new.id}**.", new.id, takes_update, join_update)

    outputs = [result, plot, summary, new_take, take, join_ids]
    project.change(list_takes, project, [take, join_ids], api_name="edit_takes")
    take.change(load, take, [original, text, diff, summary], api_name="load_for_edit")
    imported = import_button.click(import_recording, [project, upload], [take, join_ids], api_name="import_for_edit")
    transcribe.click(transcribing(False), [take, transcriber], [text, diff, summary], api_name="transcribe_take",
                     show_progress_on=summary)
    retranscribe.click(transcribing(True), [take, transcriber], [text, diff, summary],
                       api_name="retranscribe_take", show_progress_on=summary)
    text.change(preview, [take, text], diff, api_name="preview_edit", show_progress="hidden")
    applied = apply.click(apply_edits, [project, take, text, engine, seed], outputs, api_name="apply_edit",
                          show_progress_on=summary)
    back.click(go_back, take, take, api_name="edit_parent")
    follow.click(follow_new, new_take, take, api_name=False)
    waved = wave_run.click(waveform_edit, [project, take, operation, start, end, seconds], outputs,
                           api_name="waveform_edit", show_progress_on=summary)
    joined = join_run.click(join, [project, join_ids, gap], outputs, api_name="join_takes", show_progress_on=summary)
    return {"refresh": list_takes, "take": take, "join": join_ids, "saved": [imported, applied, waved, joined]}
