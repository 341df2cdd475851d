"""Convert tab: a recording (recorded, uploaded or a take) re-spoken in a voice from the library."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from studio.convert import Convert, ConvertRequest, ConvertResult
from studio.takes import Takes
from studio.voices import Voices

from .cancellation import cancellable, current_token
from .choices import engine_choices, take_picker, voice_choices
from .context import UIContext
from .errors import user_errors
from .playback import playable, player

MATCHED_NOTE = ("The offline voice matcher moves pitch, vocal-tract length and timbre towards the voice: the result "
                "is *matched*, not cloned. A Hub converter, once downloaded, imitates more closely.")


def convert_report(result: ConvertResult) -> str:
    scores = result.scores
    lines = [f"Saved as take **#{result.take.id}** (from #{result.take.parent_id}).", ""]
    if "similarity" in scores:
        lines.append(f"- Similarity to the voice: **{scores['similarity']:.2f}** "
                     f"(the recording before: {scores['similarity_before']:.2f})")
    if "wer_vs_source" in scores:
        lines.append(f"- Words changed against the recording (WER): {scores['wer_vs_source']:.2f}")
    lines.append(f"- Duration: {result.converted.duration:.2f} s ({scores['duration_ratio']:.3f} × the recording)")
    return "\n".join(lines)


@dataclass
class ConvertTab:
    take: gr.Dropdown
    upload: gr.Audio
    voice: gr.Dropdown
    engine: gr.Dropdown
    pitch_shift: gr.Slider
    keep_loudness: gr.Checkbox
    keep_pauses: gr.Checkbox
    run: gr.Button
    report: gr.Markdown
    before: gr.Audio
    after: gr.Audio


class ConvertHandlers:
    def __init__(self, convert: Convert, takes: Takes, voices: Voices) -> None:
        self.converter, self.takes, self.voices = convert, takes, voices

    @user_errors
    def list_sources(self, project_id):
        return take_picker(self.takes, project_id)

    @user_errors
    def more_sources(self, project_id):
        """Fresh choices that keep the take chosen (takes made on other tabs)."""
        return take_picker(self.takes, project_id, keep_choice=True)

    @user_errors
    def list_voices(self, project_id):
        return gr.update(choices=voice_choices(self.voices.list(int(project_id))))

    @cancellable
    @user_errors
    def convert(self, project_id, take_id, path, voice_id, engine_id, pitch_shift, keep_loudness, keep_pauses,
                progress=gr.Progress()):
        if take_id in (None, "") and not path:
            raise ValueError("Record or upload a recording, or choose a take, to convert.")
        if voice_id in (None, ""):
            raise ValueError("Choose the voice to convert into (make one on the Voices tab).")
        request = ConvertRequest(
            int(project_id), int(voice_id), take_id=int(take_id) if take_id not in (None, "") and not path else None,
            source=path or None, engine_id=engine_id, pitch_shift=float(pitch_shift or 0.0),
            keep_loudness=bool(keep_loudness), keep_pauses=bool(keep_pauses))
        result = self.converter.convert(request, progress=lambda f, text: progress(f, desc=text),
                                        cancel=current_token())
        return (playable(result.source), playable(result.converted), convert_report(result),
                self.list_sources(project_id))


def render(ctx: UIContext) -> ConvertTab:
    with gr.Row():
        with gr.Column(scale=1):
            upload = gr.Audio(label="Upload or record", sources=["upload", "microphone"], type="filepath",
                              elem_id="convert-upload")
            take = gr.Dropdown(label="…or a take", choices=[], elem_id="convert-take", allow_custom_value=True)
            voice = gr.Dropdown(label="Into the voice", choices=[], elem_id="convert-voice", allow_custom_value=True)
            engine = gr.Dropdown(engine_choices(ctx.studio.engines.statuses(), "convert"), value="world-matcher",
                                 label="Converter", elem_id="convert-engine")
            pitch_shift = gr.Slider(-12, 12, value=0, step=0.5, label="Pitch shift (semitones, after matching)")
            keep_loudness = gr.Checkbox(True, label="Keep the recording's loudness")
            keep_pauses = gr.Checkbox(True, label="Keep pauses as recorded")
            run = gr.Button("Convert", variant="primary", elem_id="convert-run")
            gr.Markdown(MATCHED_NOTE)
        with gr.Column(scale=2):
            with gr.Row():
                before = player("Recording")
                after = player("Converted", "convert-after")
            report = gr.Markdown(elem_id="convert-report")
    return ConvertTab(take, upload, voice, engine, pitch_shift, keep_loudness, keep_pauses, run, report, before,
                      after)


def listen(ctx: UIContext, tab: ConvertTab) -> None:
    handle, project = ConvertHandlers(ctx.studio.convert, ctx.studio.takes, ctx.studio.voices), ctx.project
    converted = tab.run.click(
        handle.convert, [project, tab.take, tab.upload, tab.voice, tab.engine, tab.pitch_shift, tab.keep_loudness,
                         tab.keep_pauses],
        [tab.before, tab.after, tab.report, tab.take], api_name="convert", show_progress_on=tab.report, **ctx.gpu)
    project.change(handle.list_sources, project, tab.take, api_name=False)
    project.change(handle.list_voices, project, tab.voice, api_name=False)
    ctx.takes_changed.raised_by("convert", converted)
    ctx.takes_changed.follow("convert", handle.more_sources, [project], [tab.take])
    ctx.voices_changed.follow("convert", handle.list_voices, [project], [tab.voice])
    ctx.page_load.then(handle.more_sources, [project], [tab.take])  # keeps a take chosen meanwhile
    ctx.page_load.then(handle.list_voices, [project], [tab.voice])
