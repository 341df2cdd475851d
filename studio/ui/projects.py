"""Project picker and the Projects tab: create, export to one archive, import an archive."""
from __future__ import annotations

import gradio as gr

from storage import Project
from studio.service import Studio

from .cancellation import cancellable, current_token
from .errors import user_errors


def project_choices(projects: list[Project]) -> list[tuple[str, int]]:
    return [(p.name, p.id) for p in projects]


def render_picker(studio: Studio) -> gr.Dropdown:
    """The current project lives in this dropdown, i.e. per browser session, never in module state."""
    projects = studio.projects.list()
    return gr.Dropdown(project_choices(projects), value=projects[0].id, label="Project",
                       elem_id="project-select", scale=3, allow_custom_value=True)


def render_tab(studio: Studio, project: gr.Dropdown) -> None:
    with gr.Row():
        with gr.Column():
            new_name = gr.Textbox(label="New project name")
            create = gr.Button("Create project")
        with gr.Column():
            export = gr.Button("Export current project")
            archive = gr.File(label="Project archive", interactive=False)
        with gr.Column():
            upload = gr.File(label="Import an archive", file_types=[".zip"])
            do_import = gr.Button("Import")
    status = gr.Markdown()

    @user_errors
    def refresh_projects(current):
        projects = studio.projects.list()
        ids = {p.id for p in projects}
        value = int(current) if current and int(current) in ids else projects[0].id
        return gr.update(choices=project_choices(projects), value=value)

    @user_errors
    def create_project(name):
        created = studio.projects.create(name or "")
        return gr.update(choices=project_choices(studio.projects.list()), value=created.id), "", \
            f"Created project **{created.name}**."

    @cancellable
    @user_errors
    def export_project(project_id):
        return str(studio.projects.export(int(project_id), cancel=current_token()))

    @cancellable
    @user_errors
    def import_project(path):
        if not path:
            raise ValueError("Choose a project archive (.zip) to import.")
        imported = studio.projects.import_archive(path, cancel=current_token())
        return gr.update(choices=project_choices(studio.projects.list()), value=imported.id), None, \
            f"Imported project **{imported.name}**."

    create.click(create_project, new_name, [project, new_name, status], api_name="create_project",
                 show_progress_on=status)
    export.click(export_project, project, archive, api_name="export_project")
    do_import.click(import_project, upload, [project, upload, status], api_name="import_project",
                    show_progress_on=status)
    return refresh_projects
