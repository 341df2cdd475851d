"""Start the Retake studio: `python app.py`. Configuration comes from RETAKE_* environment variables."""
import logging

from studio.config import Settings
from studio.service import Studio
from studio.ui.app import launch


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    settings = Settings.from_env()
    studio = Studio.open(settings)
    logging.getLogger("retake").info("data in %s", settings.data_dir)
    launch(studio, settings)


if __name__ == "__main__":
    main()
