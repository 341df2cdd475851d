"""Who is asking: the user Gradio signed in (RETAKE_USERS passwords), or the Hugging Face account of a Space's
"Sign in with Hugging Face" (its session's OAuth details). The answer routes every request to that user's own
studio (studio/users.py)."""
from __future__ import annotations

from gradio.context import LocalContext

from studio.users import oauth_user


def signed_in_user() -> str | None:
    """The user of the event being handled now; None outside an event or when nobody is signed in."""
    request = LocalContext.request.get(None)
    if request is None:
        return None
    if request.username:
        return str(request.username)
    return oauth_user(getattr(request, "request", None))
