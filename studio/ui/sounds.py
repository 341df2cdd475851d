"""Sounds tab: bring in sound files (effects, beds) and put one under a narration take, ducked under the speech."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from pipelines.sound.placement import Placement
from studio.sounds import SOUND_KIND, PlaceRequest, PlaceResult, Sounds
from studio.takes import Takes

from .cancellation import cancellable, current_token
from .choices import PICKER_LIMIT, take_choices
from .context import UIContext
from .errors import require_id, user_errors
from .fields import optional_box, parse_optional
from .playback import playable, player

OFFLINE_NOTE = ("Text-to-audio models cannot run offline: bring your own sound files (any format the studio reads). "
                "Each is kept as a *sound* take.")


def place_report(result: PlaceResult) -> str:
    placed = result.placed
    lines = [f"Saved as take **#{result.take.id}** (narration #{result.take.parent_id} with sound "
             f"#{result.take.parameters['sound_take']}).", "",
             f"- The sound plays from {placed.start_s:.2f} s to {placed.end_s:.2f} s.",
             f"- Lowered by {result.take.parameters['placement']['duck_db']:g} dB under speech "
             f"({len(result.speech)} stretch{'es' if len(result.speech) != 1 else ''} of speech found)."]
    lines += [f"- {notice}" for notice in result.notices]
    return "\n".join(lines)


@dataclass
class SoundsTab:
    upload: gr.File
    name: gr.Textbox
    add: gr.Button
    narration: gr.Dropdown
    sound: gr.Dropdown
    at_s: gr.Number
    at_word: gr.Textbox
    length_s: gr.Textbox
    loop: gr.Checkbox
    gain_db: gr.Slider
    duck_db: gr.Slider
    fade_in_s: gr.Number
    fade_out_s: gr.Number
    run: gr.Button
    report: gr.Markdown
    mix: gr.Audio


class SoundHandlers:
    def __init__(self, sounds: Sounds, takes: Takes) -> None:
        self.sounds, self.takes = sounds, takes

    @user_errors
    def pickers(self, project_id):
        """Narrations (every take but sounds) and sounds, newest first."""
        recent = self.takes.list(int(project_id), page_size=PICKER_LIMIT)
        return (gr.update(choices=take_choices([t for t in recent if t.kind != SOUND_KIND])),
                gr.update(choices=take_choices([t for t in recent if t.kind == SOUND_KIND])))

    @user_errors
    def add_sound(self, project_id, path, name):
        if not path:
            raise ValueError("Choose a sound file to add.")
        take = self.sounds.import_sound(int(project_id), path, (name or "").strip() or None)
        recent = self.takes.list(int(project_id), page_size=PICKER_LIMIT)
        return (gr.update(choices=take_choices([t for t in recent if t.kind == SOUND_KIND]), value=take.id),
                gr.update(choices=take_choices([t for t in recent if t.kind != SOUND_KIND])),
                f"Added sound take **#{take.id}**.")

    @cancellable
    @user_errors
    def place(self, project_id, narration_id, sound_id, at_s, at_word, length_s, loop, gain_db, duck_db, fade_in_s,
              fade_out_s, progress=gr.Progress()):
        narration = require_id(narration_id, "Choose the narration take to put the sound under.")
        sound = require_id(sound_id, "Choose a sound (add one above).")
        placement = Placement(at_s=float(at_s or 0.0), length_s=parse_optional(length_s, "Length"),
                              loop=bool(loop), gain_db=float(gain_db), duck_db=float(duck_db),
                              fade_in_s=float(fade_in_s or 0.0), fade_out_s=float(fade_out_s or 0.0))
        word = parse_optional(at_word, "The word number", whole=True)
        result = self.sounds.place(PlaceRequest(int(project_id), narration, sound, placement, word),
                                   progress=lambda f, text: progress(f, desc=text), cancel=current_token())
        return playable(result.placed.audio), place_report(result)


def render(ctx: UIContext) -> SoundsTab:
    with gr.Row():
        with gr.Column(scale=1):
            gr.Markdown(OFFLINE_NOTE)
            upload = gr.File(label="Sound file", type="filepath", elem_id="sound-upload")
            name = gr.Textbox(label="What it is", placeholder="rain on a window", elem_id="sound-name")
            add = gr.Button("Add sound", elem_id="sound-add")
            narration = gr.Dropdown(label="Narration take", choices=[], elem_id="sound-narration",
                                    allow_custom_value=True)
            sound = gr.Dropdown(label="Sound", choices=[], elem_id="sound-sound", allow_custom_value=True)
            with gr.Row():
                at_s = gr.Number(0.0, label="Start (s)", minimum=0, elem_id="sound-at")
                at_word = optional_box("…or at word no. (from 0)", "empty = use the time", "sound-word")
            with gr.Row():
                length_s = optional_box("Length (s)", "empty = the sound's own", "sound-length")
                loop = gr.Checkbox(False, label="Loop to the length (or to the end)")
            gain_db = gr.Slider(-40, 12, value=0, step=0.5, label="Sound level (dB)")
            duck_db = gr.Slider(0, 40, value=12, step=0.5, label="Lower under speech by (dB)", elem_id="sound-duck")
            with gr.Row():
                fade_in_s = gr.Number(0.05, label="Fade in (s)", minimum=0)
                fade_out_s = gr.Number(0.5, label="Fade out (s)", minimum=0)
            run = gr.Button("Place under the narration", variant="primary", elem_id="sound-place")
        with gr.Column(scale=2):
            mix = player("Mix", "sound-mix")
            report = gr.Markdown(elem_id="sound-report")
    return SoundsTab(upload, name, add, narration, sound, at_s, at_word, length_s, loop, gain_db, duck_db,
                     fade_in_s, fade_out_s, run, report, mix)


def listen(ctx: UIContext, tab: SoundsTab) -> None:
    handle, project = SoundHandlers(ctx.studio.sounds, ctx.studio.takes), ctx.project
    added = tab.add.click(handle.add_sound, [project, tab.upload, tab.name], [tab.sound, tab.narration, tab.report],
                          api_name="add_sound")
    placed = tab.run.click(
        handle.place, [project, tab.narration, tab.sound, tab.at_s, tab.at_word, tab.length_s, tab.loop, tab.gain_db,
                       tab.duck_db, tab.fade_in_s, tab.fade_out_s],
        [tab.mix, tab.report], api_name="place_sound", show_progress_on=tab.report, **ctx.gpu)
    project.change(handle.pickers, project, [tab.narration, tab.sound], api_visibility="private")
    ctx.takes_changed.raised_by("sounds", added, placed)
    ctx.takes_changed.follow("sounds", handle.pickers, [project], [tab.narration, tab.sound])
    ctx.page_load.then(handle.pickers, [project], [tab.narration, tab.sound])
