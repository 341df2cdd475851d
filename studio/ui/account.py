"""The header of a shared server: who is signed in, what is left of their quotas, and how to sign in or out."""
from __future__ import annotations

import gradio as gr

from studio.service import Studio

from .errors import user_errors
from .signin import signed_in_user

SIGNED_OUT = "Sign in to use the studio: your projects, voices and takes are yours alone."


def render(demo: gr.Blocks, studio: Studio, *, oauth: bool) -> gr.Markdown:
    with gr.Row():
        if oauth:  # needs gradio[oauth]; on a Space with hf_oauth the button signs in with Hugging Face
            gr.LoginButton()
        account = gr.Markdown(SIGNED_OUT, elem_id="account")

    @user_errors
    def describe() -> str:
        user = signed_in_user()
        if not user:
            return SIGNED_OUT
        logout = "" if oauth else " · [Log out](/logout)"
        return f"Signed in as **{user}** · {studio.quotas.summary()}{logout}"

    demo.load(describe, None, account, api_name=False)  # type: ignore[arg-type]
    return account
