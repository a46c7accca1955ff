"""Signed cookies: what a browser hands back is trusted only when we signed it, for this
purpose, and it has not expired."""

from __future__ import annotations

from integration_assets.console.session import Signer

SECRET = b"k" * 32


def test_a_signed_payload_comes_back() -> None:
    signer = Signer(SECRET, "session")

    assert signer.load(signer.sign({"csrf": "abc"}, 60))["csrf"] == "abc"  # type: ignore[index]


def test_an_expired_payload_is_refused() -> None:
    signer = Signer(SECRET, "session")

    assert signer.load(signer.sign({"csrf": "abc"}, -1)) is None


def test_a_payload_signed_for_another_purpose_is_refused() -> None:
    flash = Signer(SECRET, "flash").sign({"m": "hello"}, 60)

    assert Signer(SECRET, "session").load(flash) is None


def test_a_tampered_or_foreign_payload_is_refused() -> None:
    value = Signer(SECRET, "session").sign({"csrf": "abc"}, 60)
    body, mac = value.split(".")
    other = Signer(b"x" * 32, "session").sign({"csrf": "abc"}, 60)

    tampered = ("X" if body[0] != "X" else "Y") + body[1:]
    assert Signer(SECRET, "session").load(f"{tampered}.{mac}") is None
    assert Signer(SECRET, "session").load(other) is None
    assert Signer(SECRET, "session").load("not a cookie") is None
