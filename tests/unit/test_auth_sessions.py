"""Browser sessions and the same-origin rule for cookie-authenticated POSTs."""

from __future__ import annotations

from orchestrator.service.auth import Sessions, same_origin


def test_a_session_is_signed_expires_and_holds_no_token():
    sessions = Sessions("s3cret", lifetime_s=60)
    value = sessions.issue(now=1000.0)
    assert "s3cret" not in value and sessions.valid(value, now=1059.0)
    assert not sessions.valid(value, now=1061.0)  # expired
    expiry, nonce, signature = value.split(".")
    assert not sessions.valid(f"{int(expiry) + 10**6}.{nonce}.{signature}", now=1000.0)
    assert not Sessions("other").valid(value, now=1000.0)  # a new token ends every session
    assert not sessions.valid("s3cret", now=1000.0) and not sessions.valid("", now=1000.0)


def test_same_origin_compares_hosts_not_schemes():
    assert same_origin("https://clips.example.com", None, "clips.example.com")  # behind TLS
    assert same_origin(None, "http://127.0.0.1:8080/#job=1", "127.0.0.1:8080")
    assert not same_origin("https://evil.example", None, "clips.example.com")
    assert not same_origin(None, "https://evil.example/clips.example.com", "clips.example.com")
    assert not same_origin("https://clips.example.com.evil.example", None, "clips.example.com")
    assert not same_origin(None, None, "clips.example.com")
    assert not same_origin("null", None, "clips.example.com")
