"""Two people signed in at once on one server (RETAKE_USERS) each see only their own projects, voices and takes,
through the Gradio API and the /v1 speech API, even when they guess each other's ids; each has a daily quota
of spoken characters; and a full queue answers "busy" at once."""
from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest
import soundfile as sf
from gradio_client import Client, handle_file

from tests.conftest import NO_TTS, speech_clip

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
pytest.importorskip("piper", reason=NO_TTS)

USERS = {"alice": "pw-alice", "bob": "pw-bob"}
ENGINE = "piper-joe-embedded"
QUOTA = 1500


@pytest.fixture(scope="module")
def shared_app(tmp_path_factory):
    from tests.e2e.conftest import RunningApp
    base = tmp_path_factory.mktemp("shared-server")
    env = {"RETAKE_USERS": ",".join(f"{u}:{p}" for u, p in USERS.items()),
           "RETAKE_QUOTA_CHARS_PER_DAY": str(QUOTA)}
    app = RunningApp(base / "data", base / "app.log", env).start()
    yield app
    app.stop()


def client(app, user: str) -> Client:
    return Client(app.url, auth=(user, USERS[user]), verbose=False)


def project_names(c: Client) -> dict[int, str]:
    update = c.predict(0, api_name="/list_projects")
    return {value: label for label, value in update["choices"]}


def answer(c: Client, endpoint: str, *args) -> str:
    """What a call shows its caller, whether a result or a refusal."""
    try:
        return str(c.predict(*args, api_name=endpoint))
    except Exception as error:  # noqa: BLE001 — the refusal's text is the answer
        return str(error)


def takes(c: Client, project: int) -> list[list]:
    _, table, *_ = c.predict(project, 0, False, 1, api_name="/list_takes")
    return table["data"]


def v1(app, path: str, key: str | None, body: dict | None = None) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(app.url + path, data=data, method="POST" if body is not None else "GET")
    request.add_header("Content-Type", "application/json")
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_two_users_see_only_their_own_data_even_guessing_ids(shared_app):
    alice, bob = client(shared_app, "alice"), client(shared_app, "bob")
    update, _, _ = alice.predict("Alice's radio play", api_name="/create_project")
    project = update["value"]
    _, voices, *_ = alice.predict(project, [handle_file(str(speech_clip("coqui_lj_LJ001-0008")))], None,
                                  "Alice voice", "en", "has never been surpassed.", False, True,
                                  api_name="/create_voice")
    voice = next(row[0] for row in voices["data"] if row[1] == "Alice voice")
    alice.predict(project, voice, "Only Alice may hear this.", ENGINE, 3, 1.0, "", False, api_name="/speak")
    alice_takes = takes(alice, project)
    take = alice_takes[0][0]
    assert take and any("Alice" in str(row) for row in alice_takes)

    # Bob's own studio: ids are numbered per user, so Alice's ids name Bob's own records or nothing at all.
    assert "Alice's radio play" not in project_names(bob).values()
    for endpoint, args in [("/list_takes", (project, 0, False, 1)), ("/take_audio", (take,)),
                           ("/voice_preview", (voice,)), ("/rename_voice", (voice, "Bob was here")),
                           ("/delete_take", (take, project, 0, False, 1)), ("/download_take", (take, "wav")),
                           ("/rename_project", (project, "Bob's now"))]:
        seen = answer(bob, endpoint, *args)
        assert "Alice" not in seen and "Only Alice" not in seen, endpoint
        assert endpoint == "/list_takes" or endpoint == "/rename_project" or "not found" in seen.lower(), seen

    # Alice's data is untouched, and a fresh sign-in of hers still sees it.
    again = client(shared_app, "alice")
    assert project_names(again)[project] == "Alice's radio play"
    assert [row[0] for row in takes(again, project)] == [row[0] for row in alice_takes]
    assert sf.info(again.predict(take, api_name="/take_audio")).duration > 0.5
    users_dir = shared_app.data_dir / "users"
    assert sorted(p.name.split("_")[0] for p in users_dir.iterdir()) == ["alice", "bob"]


def test_nobody_signed_in_gets_nothing(shared_app):
    with pytest.raises(Exception):
        Client(shared_app.url, verbose=False).predict(0, api_name="/list_projects")
    with pytest.raises(Exception):
        Client(shared_app.url, auth=("alice", "pw-bob"), verbose=False)
    status, body = v1(shared_app, "v1/audio/voices", None)
    assert status == 401 and b"user:password" in body
    status, _ = v1(shared_app, "v1/audio/voices", "alice:pw-bob")
    assert status == 401


def test_the_speech_api_acts_as_the_user_of_its_key(shared_app):
    alice, bob = client(shared_app, "alice"), client(shared_app, "bob")
    project = project_names(bob)
    first = min(project)
    bob.predict(first, [handle_file(str(speech_clip("coqui_lj_LJ001-0008")))], None, "Bobs voice", "en",
                "has never been surpassed.", False, True, api_name="/create_voice")
    status, body = v1(shared_app, "v1/audio/voices", "bob:pw-bob")
    names = {v["name"] for v in json.loads(body)["data"] if v["source"] == "library"}
    assert status == 200 and "Bobs voice" in names
    status, body = v1(shared_app, "v1/audio/voices", "alice:pw-alice")
    assert status == 200 and "Bobs voice" not in {v["name"] for v in json.loads(body)["data"]}
    status, body = v1(shared_app, "v1/audio/speech", "alice:pw-alice",
                      {"model": "tts-1", "input": "Hello.", "voice": "Bobs voice", "response_format": "wav"})
    assert status == 400 and b"voice_not_found" in body
    before = len(takes(bob, first))
    status, body = v1(shared_app, "v1/audio/speech", "bob:pw-bob",
                      {"model": "tts-1", "input": "Bob speaks through the API.", "voice": "Bobs voice",
                       "response_format": "wav"})
    assert status == 200 and body[:4] == b"RIFF"
    assert len(takes(bob, first)) > before
    assert all("Bob speaks" not in str(row) for p in project_names(alice) for row in takes(alice, p))


def test_a_daily_quota_of_spoken_characters(shared_app):
    alice = client(shared_app, "alice")
    project = min(project_names(alice))
    long_text = "This sentence is far too long for what is left of today. " * (QUOTA // 50)
    with pytest.raises(Exception, match=r"(?i)today's 1,500 are spoken already|of today's 1,500"):
        alice.predict(project, None, long_text, ENGINE, 3, 1.0, "", False, api_name="/speak")
    status, body = v1(shared_app, "v1/audio/speech", "alice:pw-alice",
                      {"input": long_text, "voice": "joe", "response_format": "wav"})
    assert status == 429 and json.loads(body)["error"]["code"] == "insufficient_quota"
    # The refusal counted nothing: a short text still speaks.
    alice.predict(project, None, "Still room for this.", ENGINE, 3, 1.0, "", False, api_name="/speak")


def test_a_full_queue_says_busy_at_once(app_factory, tmp_path):
    app = app_factory(env={"RETAKE_USERS": "carol:pw-carol", "RETAKE_QUEUE_SIZE": "1",
                           "RETAKE_GPU_CONCURRENCY": "1"})
    carol = Client(app.url, auth=("carol", "pw-carol"), verbose=False)
    project = min(project_names(carol))
    text = "A long narration keeps the one model slot busy for a while, sentence after sentence. " * 6
    jobs = [carol.submit(project, None, text, ENGINE, 3, 1.0, "", False, api_name="/speak") for _ in range(4)]
    errors: list[str] = []

    def wait(job) -> None:
        try:
            job.result(timeout=600)
        except Exception as error:  # noqa: BLE001 — what the client reports is what we check
            errors.append(str(error))

    threads = [threading.Thread(target=wait, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors and all("queue is full" in e.lower() or "busy" in e.lower() for e in errors), errors
    assert len(errors) < len(jobs)  # the ones that found room were spoken


def sign_in(browser, app, user: str):
    """A browser of its own for `user`, signed in through Gradio's login form."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(app.url)
    page.get_by_label("username").fill(user)
    page.get_by_label("password").fill(USERS[user])
    page.get_by_role("button", name="Login").click()
    page.locator("#account").get_by_text(f"Signed in as {user}").wait_for()
    return page


def test_in_the_browser_each_user_sees_their_own_projects(shared_app, browser):
    from playwright.sync_api import expect

    from tests.e2e.conftest import save_screenshot
    alice, bob = sign_in(browser, shared_app, "alice"), sign_in(browser, shared_app, "bob")
    alice.get_by_role("tab", name="Projects").click()
    alice.get_by_label("New project name").fill("Alice in the browser")
    alice.get_by_role("button", name="Create project").click()
    expect(alice.locator("#project-select input")).to_have_value("Alice in the browser")
    save_screenshot(alice, "multi-user-alice.png")
    bob.reload()
    bob.locator("#account").get_by_text("Signed in as bob").wait_for()
    bob.locator("#project-select input").click()
    options = bob.get_by_role("option").all_inner_texts()
    save_screenshot(bob, "multi-user-bob.png")
    assert options and not any("Alice" in o for o in options), options
    assert "characters spoken" in bob.locator("#account").inner_text()
    alice.context.close()
    bob.context.close()
