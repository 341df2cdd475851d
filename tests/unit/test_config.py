from pathlib import Path

import pytest

from studio.config import Settings


def test_defaults_and_overrides():
    s = Settings.from_env({"RETAKE_DATA_DIR": "/tmp/x", "RETAKE_PORT": "9000", "RETAKE_AUTH": "ann:secret"})
    assert s.data_dir == Path("/tmp/x") and s.port == 9000 and s.auth == ("ann", "secret")
    assert s.cache_dir == Path("/tmp/x/cache")
    d = Settings.from_env({"HOME": "/home/u"})
    assert d.host == "127.0.0.1" and d.port == 7860 and d.database_url is None and d.auth is None


@pytest.mark.parametrize(("env", "message"), [
    ({"RETAKE_PORT": "http"}, "RETAKE_PORT must be a number"),
    ({"RETAKE_MAX_AUDIO_SECONDS": "-1"}, "must be positive"),
    ({"RETAKE_AUTH": "nopassword"}, "user:password"),
])
def test_bad_settings_are_named(env, message):
    with pytest.raises(ValueError, match=message):
        Settings.from_env(env)
