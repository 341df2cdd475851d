"""Many users on one server: settings, one studio (folder, database, cache) per user, and per-user quotas
counted in the store."""
from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage import QuotaExceeded, Store
from studio.config import Settings
from studio.users import RoutedStudio, SignInRequired, StudioPool, acting_user, folder_name, oauth_user, user_settings


def test_users_oauth_and_quotas_come_from_the_environment():
    s = Settings.from_env({"RETAKE_DATA_DIR": "/d", "RETAKE_USERS": "ann:one, bob:two:with-colon",
                           "RETAKE_QUOTA_CHARS_PER_DAY": "500", "RETAKE_QUEUE_SIZE": "3"})
    assert s.users == (("ann", "one"), ("bob", "two:with-colon")) and s.multi_user and not s.oauth
    assert s.quota_chars_per_day == 500 and s.queue_size == 3
    assert Settings.from_env({"OAUTH_CLIENT_ID": "abc"}).oauth  # what a Space with hf_oauth sets
    assert not Settings.from_env({"OAUTH_CLIENT_ID": "abc", "RETAKE_OAUTH": "0"}).oauth
    assert not Settings.from_env({"RETAKE_AUTH": "ann:pw"}).multi_user  # one password: one local studio


@pytest.mark.parametrize(("raw", "message"), [("ann", "user:password"), ("ann:x,Ann:y", "names 'Ann' twice"),
                                              (":pw", "user:password")])
def test_bad_user_lists_are_named(raw, message):
    with pytest.raises(ValueError, match=message):
        Settings.from_env({"RETAKE_USERS": raw})


def test_folder_names_are_safe_and_distinct():
    names = ["Bob", "bob", "b.o.b", "../../etc", "名前", ""]
    folders = [folder_name(n) for n in names]
    assert len(set(folders)) == len(names)
    assert all(f.replace("_", "").isalnum() and f.isascii() and "/" not in f for f in folders)


def test_user_settings_give_each_user_a_folder_a_database_and_an_unguessable_cache(tmp_path):
    base = Settings(data_dir=tmp_path, database_url="postgresql+psycopg://db/retake_{user}")
    ann, again = user_settings(base, "ann"), user_settings(base, "ann")
    assert ann.data_dir == tmp_path / "users" / folder_name("ann") and ann.owner == "ann"
    assert ann.database_url == f"postgresql+psycopg://db/retake_{folder_name('ann')}"
    assert ann.cache_dir != again.cache_dir and not ann.cache_dir.is_relative_to(tmp_path)
    with pytest.raises(ValueError, match=r"\{user\}"):
        StudioPool(replace(base, database_url="sqlite:////tmp/one.db", users=(("a", "b"),)))


@pytest.fixture
def pool(tmp_path):
    pool = StudioPool(Settings(data_dir=tmp_path, users=(("ann", "a"), ("bob", "b")), app_workers=0,
                               quota_chars_per_day=100, quota_storage_mb=1))
    yield pool
    pool.close()


def test_each_user_has_a_studio_of_their_own(pool, tmp_path):
    ann, bob = pool.for_user("ann"), pool.for_user("bob")
    assert ann is pool.for_user("ann") and ann is not bob
    secret = ann.projects.create("Ann's secret")
    assert [p.name for p in bob.projects.list()] == ["My project"]
    with pytest.raises(Exception, match="not found"):
        bob.projects.rename(secret.id + 1, "guessed")
    assert ann.store.get_project(secret.id).name == "Ann's secret"
    assert {p.name for p in (tmp_path / "users").iterdir()} == {folder_name("ann"), folder_name("bob")}


def test_closing_removes_the_temporary_folders(tmp_path):
    pool = StudioPool(Settings(data_dir=tmp_path, users=(("ann", "a"),), app_workers=0))
    ann = pool.for_user("ann")
    ann.media.cache_file("x.wav").write_bytes(b"x")
    temporary = [ann.settings.cache_dir, pool.blank.settings.data_dir]
    assert all(p.exists() for p in temporary)
    pool.close()
    assert not any(p.exists() for p in temporary)
    assert (tmp_path / "users" / folder_name("ann") / "retake.db").exists()  # the user's data stays


def test_two_first_requests_of_one_user_open_one_studio(pool):
    opened: list = []
    threads = [threading.Thread(target=lambda: opened.append(pool.for_user("ann"))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(s) for s in opened}) == 1


def test_the_routed_studio_follows_the_acting_user(pool):
    who: list[str | None] = [None]
    routed = RoutedStudio(pool, lambda: who[0])
    assert routed.projects.list()[0].name == "My project"  # while building: the empty studio
    routed.building = False
    with pytest.raises(SignInRequired, match="Sign in"):
        routed.projects.list()
    who[0] = "ann"
    routed.projects.create("Made as Ann")
    who[0] = "bob"
    assert "Made as Ann" not in [p.name for p in routed.projects.list()]
    who[0] = None
    token = acting_user.set("ann")  # the /v1 routes' way
    try:
        assert "Made as Ann" in [p.name for p in routed.projects.list()]
    finally:
        acting_user.reset(token)
    assert "Made as Ann" not in [p.name for p in pool.blank.projects.list()]


def test_only_an_administrator_unloads_a_shared_model(tmp_path):
    pool = StudioPool(Settings(data_dir=tmp_path, users=(("ann", "a"), ("root", "r")), admins=("root",),
                               app_workers=0))
    try:
        with pytest.raises(ValueError, match="only an administrator"):
            pool.for_user("ann").engines.unload("piper-joe-embedded")
        assert pool.for_user("root").engines.unload("piper-joe-embedded").state != "loaded"
    finally:
        pool.close()
    local = Settings.from_env({"RETAKE_DATA_DIR": str(tmp_path / "local"), "RETAKE_ADMINS": "root, ops"})
    assert local.admins == ("root", "ops")


def test_oauth_user_comes_from_the_session_only():
    class Http:  # a Starlette request is read through its ASGI scope
        def __init__(self, scope):
            self.scope = scope

    assert oauth_user(Http({"session": {"oauth_info": {"userinfo": {"preferred_username": "hf-ann"}}}})) == "hf-ann"
    assert oauth_user(Http({"session": {}})) is None
    assert oauth_user(Http({})) is None and oauth_user(None) is None


def test_characters_per_day_are_counted_atomically_and_refunded(tmp_path):
    now = [datetime(2026, 12, 4, 23, 59, tzinfo=UTC)]
    with Store.open(tmp_path, clock=lambda: now[0]) as store:
        assert store.spend_characters(60, 100) == 60
        with pytest.raises(QuotaExceeded, match="60 of today's 100"):
            store.spend_characters(50, 100)
        store.refund_characters(20)
        assert store.spend_characters(50, 100) == 90
        assert store.characters_today() == 90
        now[0] = datetime(2026, 12, 5, 0, 1, tzinfo=UTC)
        assert store.characters_today() == 0  # the next (UTC) day starts afresh
        assert store.spend_characters(100, 100) == 100


def test_concurrent_speakers_cannot_both_slip_under_the_limit(tmp_path):
    with Store.open(tmp_path) as store:
        spent: list[int] = []
        refused: list[Exception] = []

        def spend() -> None:
            try:
                spent.append(store.spend_characters(30, 100))
            except QuotaExceeded as error:
                refused.append(error)

        threads = [threading.Thread(target=spend) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(spent) == [30, 60, 90] and len(refused) == 3
        assert store.characters_today() == 90


def test_a_full_storage_quota_keeps_nothing_of_the_write(tmp_path):
    with Store.open(tmp_path, blob_limit_bytes=1000) as store:
        first = store.blobs.put(b"a" * 600)
        with pytest.raises(QuotaExceeded, match="Your storage is full"):
            store.blobs.put(b"b" * 600)
        assert list(store.blobs.iter_shas()) == [first]
        assert not any(p.name.endswith(".tmp") for p in Path(store.blobs.root).rglob("*"))
        assert store.blobs.put(b"a" * 600) == first  # the same audio again costs nothing


def test_per_user_studio_speech_counts_against_the_quota(pool):
    pytest.importorskip("piper")
    ann = pool.for_user("ann")
    project = ann.projects.list()[0].id
    ann.speak.speak(project, "Forty characters of text to speak here.", engine_id="piper-joe-embedded",
                    gate=False).wait()
    assert ann.store.characters_today() == len("Forty characters of text to speak here.")
    with pytest.raises(QuotaExceeded, match="of today's 100"):
        ann.speak.speak(project, "x" * 70 + " words", engine_id="piper-joe-embedded", gate=False)
    assert ann.quotas.summary().startswith(f"Today {ann.store.characters_today()} of 100 characters")
