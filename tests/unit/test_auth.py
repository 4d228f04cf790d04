"""The bearer-token check."""

from __future__ import annotations

from orchestrator.service.auth import authorized


def test_bearer_token_matching():
    assert authorized((("authorization", "Bearer abc"),), "abc")
    assert authorized((("Authorization", b"bearer abc"),), "abc")
    assert not authorized((("authorization", "Bearer abd"),), "abc")
    assert not authorized((("authorization", "abc"),), "abc")
    assert not authorized((("x-other", "Bearer abc"),), "abc")
    assert not authorized(None, "abc")
