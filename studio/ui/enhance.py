"""Enhance tab: denoise and master a take or an upload, compare before and after, enhance a whole project."""
from __future__ import annotations

import gradio as gr

from pipelines import audio as au
from studio.enhance import NO_ENGINE, EnhanceResult
from studio.service import Studio

from .cancellation import cancellable, current_token
from .errors import user_errors
from .fields import engine_choices
from .spectrogram import spectrogram_figure
from .takes import take_choices

TARGET_CHOICES = [("Podcast (−16 LUFS)", "podcast"), ("Broadcast (EBU R128, −23 LUFS)", "broadcast"),
                  ("Audiobook (ACX)", "audiobook"), ("Keep level", "none")]


def level_report(result: EnhanceResult) -> str:
    rows = [("Integrated loudness", "LUFS", "integrated_lufs"), ("True peak", "dBTP", "true_peak_dbfs"),
            ("RMS", "dB", "rms_db"), ("Noise floor", "dB", "noise_floor_db")]
    lines = ["| | before | after |", "|---|---|---|"]
    for label, unit, field in rows:
        lines.append(f"| {label} ({unit}) | {getattr(result.before, field):.1f} | {getattr(result.after, field):.1f} |")
    text = f"Saved as take **#{result.take.id}** (from #{result.take.parent_id}).\n\n" + "\n".join(lines)
    if result.criteria:
        verdicts = ["| requirement | measured | allowed | verdict |", "|---|---|---|---|"]
        verdicts += [f"| {c.name} | {c.measured:.1f} {c.unit} | {c.allowed} {c.unit} | "
                     f"{'✓ met' if c.met else '✗ missed'} |" for c in result.criteria]
        missed = sum(not c.met for c in result.criteria)
        headline = ("**Delivery target met.**" if not missed else
                    f"**Delivery target missed on {missed} of {len(result.criteria)} requirements.**")
        text += "\n\n" + headline + "\n\n" + "\n".join(verdicts)
    return text


def render(studio: Studio, project: gr.Dropdown) -> dict:
    with gr.Row():
        with gr.Column(scale=1):
            take = gr.Dropdown(label="Take", choices=[], elem_id="enhance-take", allow_custom_value=True)
            upload = gr.Audio(label="…or upload a recording", sources=["upload", "microphone"], type="filepath",
                              elem_id="enhance-upload")
            engine = gr.Dropdown(engine_choices(studio.engines.statuses(), "enhance") + [("None (clean-up only)", NO_ENGINE)],
                                 value="deepfilternet3", label="Denoiser")
            target = gr.Dropdown(TARGET_CHOICES, value="podcast", label="Delivery target")
            run = gr.Button("Enhance", variant="primary", elem_id="enhance-run")
            run_all = gr.Button("Enhance all takes of this project")
            report = gr.Markdown(elem_id="enhance-report")
        with gr.Column(scale=2):
            with gr.Row():
                before = gr.Audio(label="Before", interactive=False, type="numpy")
                after = gr.Audio(label="After", interactive=False, type="numpy", elem_id="enhance-after")
            before_plot = gr.Plot(label="Before", elem_id="enhance-before-plot")
            after_plot = gr.Plot(label="After", elem_id="enhance-after-plot")

    @user_errors
    def list_sources(project_id):
        return gr.update(choices=take_choices(studio.takes.list(int(project_id), page_size=200)), value=None)

    @cancellable
    @user_errors
    def enhance(project_id, take_id, path, engine_id, target_id, progress=gr.Progress()):
        if take_id in (None, "") and not path:
            raise ValueError("Choose a take or upload a recording to enhance.")
        result = studio.enhance.enhance(
            int(project_id), take_id=int(take_id) if take_id not in (None, "") and not path else None,
            source=path or None, engine_id=engine_id or NO_ENGINE, target=None if target_id == "none" else target_id,
            progress=lambda f, text: progress(f, desc=text), cancel=current_token())
        return (au.to_gradio(result.original), au.to_gradio(result.enhanced),
                spectrogram_figure(result.original, "Before"), spectrogram_figure(result.enhanced, "After"),
                level_report(result), list_sources(project_id))

    @cancellable
    @user_errors
    def enhance_all(project_id, engine_id, target_id, progress=gr.Progress()):
        takes = studio.enhance.enhance_all(int(project_id), engine_id=engine_id or NO_ENGINE,
                                   target=None if target_id == "none" else target_id,
                                   progress=lambda f, text: progress(f, desc=text), cancel=current_token())
        return f"Enhanced {len(takes)} take(s) into new takes.", list_sources(project_id)

    run.click(enhance, [project, take, upload, engine, target],
              [before, after, before_plot, after_plot, report, take], api_name="enhance", show_progress_on=report)
    run_all.click(enhance_all, [project, engine, target], [report, take], api_name="enhance_all",
                  show_progress_on=report)
    project.change(list_sources, project, take, api_name=False)
    return {"refresh": list_sources, "take": take}

