"""Project picker and the Projects tab: create, export to one archive, import an archive."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from studio.projects import Projects

from .cancellation import cancellable, current_token
from .choices import project_choices
from .context import UIContext
from .errors import user_errors


def render_picker(projects: Projects) -> gr.Dropdown:
    """The current project lives in this dropdown, i.e. per browser session, never in module state."""
    listed = projects.list()
    return gr.Dropdown(project_choices(listed), value=listed[0].id, label="Project",
                       elem_id="project-select", scale=3, allow_custom_value=True)


@dataclass
class ProjectsTab:
    new_name: gr.Textbox
    create: gr.Button
    export: gr.Button
    archive: gr.File
    upload: gr.File
    do_import: gr.Button
    rename_to: gr.Textbox
    rename: gr.Button
    confirm: gr.Textbox
    delete: gr.Button
    status: gr.Markdown


class ProjectHandlers:
    def __init__(self, projects: Projects) -> None:
        self.projects = projects

    @user_errors
    def refresh_projects(self, current):
        """Projects made by others since the page was built; the current one stays chosen if it exists."""
        listed = self.projects.list()
        ids = {p.id for p in listed}
        value = int(current) if current and int(current) in ids else listed[0].id
        return gr.update(choices=project_choices(listed), value=value)

    @user_errors
    def create_project(self, name):
        created = self.projects.create(name or "")
        return gr.update(choices=project_choices(self.projects.list()), value=created.id), "", \
            f"Created project **{created.name}**."

    @user_errors
    def rename_project(self, project_id, name):
        renamed = self.projects.rename(int(project_id), name or "")
        return gr.update(choices=project_choices(self.projects.list()), value=renamed.id), "", \
            f"Renamed to **{renamed.name}**."

    @user_errors
    def delete_project(self, project_id, confirm):
        self.projects.delete(int(project_id), confirm_name=confirm or "")
        listed = self.projects.list()
        return gr.update(choices=project_choices(listed), value=listed[0].id), "", "Deleted the project."

    @cancellable
    @user_errors
    def export_project(self, project_id):
        return str(self.projects.export(int(project_id), cancel=current_token()))

    @cancellable
    @user_errors
    def import_project(self, path):
        if not path:
            raise ValueError("Choose a project archive (.zip) to import.")
        imported = self.projects.import_archive(path, cancel=current_token())
        return gr.update(choices=project_choices(self.projects.list()), value=imported.id), None, \
            f"Imported project **{imported.name}**."


def render(ctx: UIContext) -> ProjectsTab:
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
    with gr.Row():
        with gr.Column():
            rename_to = gr.Textbox(label="Rename the current project to", elem_id="project-rename-to")
            rename = gr.Button("Rename", elem_id="project-rename")
        with gr.Column():
            confirm = gr.Textbox(label="Delete the current project: type its name", elem_id="project-confirm")
            delete = gr.Button("Delete project", variant="stop", elem_id="project-delete")
    status = gr.Markdown(elem_id="project-status")
    return ProjectsTab(new_name, create, export, archive, upload, do_import, rename_to, rename, confirm, delete,
                       status)


def listen(ctx: UIContext, tab: ProjectsTab) -> None:
    handle, project = ProjectHandlers(ctx.studio.projects), ctx.project
    tab.create.click(handle.create_project, tab.new_name, [project, tab.new_name, tab.status],
                     api_name="create_project", show_progress_on=tab.status)
    tab.export.click(handle.export_project, project, tab.archive, api_name="export_project")
    tab.rename.click(handle.rename_project, [project, tab.rename_to], [project, tab.rename_to, tab.status],
                     api_name="rename_project")
    tab.delete.click(handle.delete_project, [project, tab.confirm], [project, tab.confirm, tab.status],
                     api_name="delete_project")
    tab.do_import.click(handle.import_project, tab.upload, [project, tab.upload, tab.status],
                        api_name="import_project", show_progress_on=tab.status)
    # A reload first shows projects made by others since the page was built; the other tabs fill after it.
    ctx.page_load.then(handle.refresh_projects, [project], [project], api_name="list_projects")
