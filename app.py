"""Start the Retake studio: `python app.py`. Configuration comes from RETAKE_* environment variables."""
import logging
import sys

from storage import StorageError
from studio.config import Settings
from studio.service import Studio
from studio.users import RoutedStudio, StudioPool


def open_studio(settings: Settings) -> Studio | RoutedStudio:
    """One studio, or with sign-in for several people (RETAKE_USERS, Hugging Face OAuth) one per user."""
    if not settings.multi_user:
        return Studio.open(settings)
    from studio.ui.signin import signed_in_user
    return RoutedStudio(StudioPool(settings), signed_in_user)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:  # start-up checks: settings, and a database file that is whole; each failure is one sentence
        settings = Settings.from_env()
        studio = open_studio(settings)
    except (ValueError, StorageError, OSError) as error:
        print(f"Retake cannot start: {error}", file=sys.stderr)
        return 2
    from studio.ui.app import launch  # Gradio loads only once the studio can start
    logging.getLogger("retake").info("data in %s", settings.data_dir)
    launch(studio, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
