"""The creators' web page in headless Chromium (Debian's ``chromium``, driven by Playwright).

Sign in with the token, upload a synthesized talk, watch the stage progress advance, then find
the clip players (playable: the browser reads their metadata) and the timeline image; then edit
the clip - fix a caption word, re-render; trim it on the track, re-render - and check the files
the service wrote. Screenshots of the clip editor go to ``test-output/web/``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.service import Service, serving, short_talk
from tests.support import ffprobe, output_folder

pytestmark = pytest.mark.integration
TOKEN = "page-s3cret"


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        if path := shutil.which(name):
            return path
    pytest.fail("chromium is not installed; run scripts/setup.sh", pytrace=False)


@pytest.fixture
def service(grpc_url: str, tmp_path: Path) -> Iterator[Service]:
    with serving(grpc_url, tmp_path, env={"SNAPCLIP_API_TOKEN": TOKEN}) as running:
        yield running


def test_upload_watch_and_see_the_clips(service: Service, tmp_path: Path):
    from playwright.sync_api import expect, sync_playwright

    talk = short_talk(tmp_path)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), headless=True)
        try:
            page = browser.new_page()
            problems: list[str] = []
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            page.goto(service.http)

            expect(page.locator("#login")).to_be_visible()  # the token comes first
            page.fill("#token", "wrong")
            page.click("#login-form button")
            expect(page.locator("#login-error")).to_contain_text("not accepted")
            page.fill("#token", TOKEN)
            page.click("#login-form button")
            expect(page.locator("#new-job")).to_be_visible()

            page.check("input[name=kind][value=file]")
            page.set_input_files("#file", str(talk))
            page.fill("#clips", "1")
            page.fill("#min-len", "5")
            page.fill("#max-len", "12")
            page.uncheck("#split-screen")  # handed on as options.split_screen
            page.click("#submit")

            expect(page.locator("#job")).to_be_visible()
            # Progress advances: stage rows appear in order and the overall bar moves.
            expect(page.locator("#stages tr[data-stage=asr]")).to_be_attached(timeout=120_000)
            seen = [page.eval_on_selector("#job-progress", "bar => bar.value")]
            expect(page.locator("#stages tr[data-stage=render]")).to_be_attached(
                timeout=300_000)
            seen.append(page.eval_on_selector("#job-progress", "bar => bar.value"))
            assert seen[1] > seen[0], seen

            expect(page.locator("#job-state")).to_have_text("SUCCEEDED", timeout=300_000)
            stages = page.eval_on_selector_all("#stages tr",
                                               "rows => rows.map(r => r.dataset.stage)")
            for before, after in (("ingest", "asr"), ("asr", "moments"), ("moments", "select"),
                                  ("select", "render")):
                assert stages.index(before) < stages.index(after), stages

            players = page.locator("#clips-list video")
            expect(players).to_have_count(1)
            # The browser fetched the clip and understood it (H.264/AAC MP4, 9:16).
            page.wait_for_function("document.querySelector('#clips-list video').readyState >= 1",
                                   timeout=30_000)
            size = players.first.evaluate("v => [v.videoWidth, v.videoHeight]")
            assert size == [1080, 1920], size
            expect(page.locator("#clips-list h3")).to_contain_text("#1")
            expect(page.locator("#clips-list .clip dl")).to_contain_text("score")
            page.wait_for_function(
                "document.querySelector('#timeline').complete && "
                "document.querySelector('#timeline').naturalWidth > 0", timeout=30_000)
            links = page.eval_on_selector_all("#downloads a", "links => links.map(a => a.href)")
            assert any(link.endswith("/files/manifest.json") for link in links), links

            # The clip editor: fix the words of the first caption line, add a format.
            shots = output_folder("web")
            job_id = page.inner_text("#job-id")
            folder = service.jobs / job_id
            chosen = json.loads((folder / "manifest.json").read_text())["selection"]
            assert chosen["split_screen"] is False and chosen["caption_style"] == "highlight"
            card = page.locator("#clips-list .clip").first
            card.locator("button.edit").click()
            line = card.locator(".caption-text").first
            expect(line).to_be_enabled()
            line.fill("Quokka zebra")
            card.locator("input[name=edit-aspect][value='1:1']").check()
            card.screenshot(path=str(shots / "clip-editor-captions.png"))
            card.locator("button.rerender").click()
            card = page.locator("#clips-list .clip").first
            expect(card.locator("dl")).to_contain_text("revision2", timeout=120_000)
            srt = (folder / "clip_01.srt").read_text()
            assert srt.split("\n")[2] == "Quokka zebra", srt
            assert (folder / "clip_01_1x1.mp4").is_file()

            # Trim: the start moves a second later on the track; caption words lock until then.
            manifest = json.loads((folder / "manifest.json").read_text())
            clip = manifest["clips"][0]
            card.locator("button.edit").click()
            start = card.locator("input.start")
            start.fill(f"{clip['start_s'] + 1.0:.1f}")
            start.press("Tab")  # typed, then on to the next field: the track follows
            expect(card.locator(".caption-text").first).to_be_disabled()
            card.screenshot(path=str(shots / "clip-editor-trim.png"))
            card.locator("button.rerender").click()
            expect(page.locator("#clips-list .clip dl").first).to_contain_text(
                "revision3", timeout=120_000)
            after = json.loads((folder / "manifest.json").read_text())["clips"][0]
            assert after["start_s"] == pytest.approx(clip["start_s"] + 1.0, abs=0.06)
            assert after["end_s"] == clip["end_s"] and after["captions_edited"]
            seconds = float(ffprobe(folder / "clip_01.mp4")["format"]["duration"])
            assert seconds == pytest.approx(after["end_s"] - after["start_s"], abs=0.15)
            page.wait_for_function(
                "document.querySelector('#clips-list video').readyState >= 1", timeout=30_000)
            shown = players.first.evaluate("v => v.duration")
            assert shown == pytest.approx(seconds, abs=0.15)  # the player has the new file
            assert not problems, problems
        finally:
            browser.close()
