import pytest

from dashboard.errors import AccessDenied, ConfigError
from dashboard.sessions import SessionSigner

MESSAGE = "Your session is not valid any more. Reload the page to start a new one."


def test_se001_round_trip():
    signer = SessionSigner("secret-one")
    session_id = signer.new()
    assert signer.verify(session_id) == session_id
    assert SessionSigner("secret-one").verify(session_id) == session_id  # another worker
    token, signature = session_id.split(".")
    assert len(token) == 32 and len(signature) == 32


def test_se002_ids_are_unique():
    signer = SessionSigner("k")
    assert len({signer.new() for _ in range(200)}) == 200


def test_se003_tampered_ids_are_rejected():
    signer = SessionSigner("secret-one")
    token, signature = signer.new().split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    other_token = ("A" if token[0] != "A" else "B") + token[1:]
    for bad in (
        f"{token}.{flipped}",
        f"{other_token}.{signature}",
        f"{token}.{signature}x",
        f"{token}.{signature[:-1]}",
        f"{token}{signature}",
        f"{token}.{signature}.{signature}",
    ):
        with pytest.raises(AccessDenied, match="Reload the page"):
            signer.verify(bad)


def test_se004_other_secret_is_rejected():
    session_id = SessionSigner("secret-one").new()
    with pytest.raises(AccessDenied) as excinfo:
        SessionSigner("secret-two").verify(session_id)
    assert str(excinfo.value) == MESSAGE


@pytest.mark.parametrize("garbage", [None, "", ".", "abc", "x" * 10_000, 42, b"bytes", "é" * 65])
def test_se005_missing_or_garbage_is_rejected(garbage):
    with pytest.raises(AccessDenied):
        SessionSigner("k").verify(garbage)


def test_se006_empty_secret_is_a_config_error():
    with pytest.raises(ConfigError):
        SessionSigner("")


def test_se007_trailing_newline_is_rejected():
    signer = SessionSigner("k")
    with pytest.raises(AccessDenied):
        signer.verify(signer.new() + "\n")
