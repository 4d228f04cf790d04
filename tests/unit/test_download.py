"""URL policy: only http(s), and no private or local addresses unless allowed."""

from __future__ import annotations

import pytest

from orchestrator.errors import InputError
from orchestrator.pipeline.ingest.download import check_url, is_url


def test_is_url():
    assert is_url("https://example.com/v") and is_url("file:///tmp/x.mp4")
    assert not is_url("/tmp/video.mp4") and not is_url("video.mp4")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://1.2.3.4/v.mp4",
                                 "javascript:alert(1)"])
def test_other_schemes_are_refused(url: str):
    with pytest.raises(InputError, match="only http"):
        check_url(url, allow_private=True)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/v.mp4", "http://localhost/v.mp4",
                                 "http://10.1.2.3/v", "http://192.168.0.7/v",
                                 "http://169.254.169.254/latest/meta-data", "http://[::1]/v",
                                 "http://0.0.0.0/v"])
def test_private_and_local_addresses_are_refused(url: str):
    with pytest.raises(InputError, match="private or local"):
        check_url(url, allow_private=False)


def test_private_addresses_allowed_on_request_and_public_ones_pass():
    check_url("http://127.0.0.1:8000/v.mp4", allow_private=True)
    check_url("https://8.8.8.8/v.mp4", allow_private=False)


def test_url_without_host_is_refused():
    with pytest.raises(InputError, match="no host"):
        check_url("http:///v.mp4", allow_private=True)
