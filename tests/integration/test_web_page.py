"""The creators' web page in headless Chromium (Debian's ``chromium``, driven by Playwright).

Sign in with the token, upload a synthesized talk, watch the stage progress advance, then find
the clip players (playable: the browser reads their metadata) and the timeline image.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.service import Service, serving, short_talk

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
            assert not problems, problems
        finally:
            browser.close()
