"""Secrets at rest: the key ring, its setting, and the development key file."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from agiletoolbox.adapters.postgres.encryption import (
    DEV_KEY_FILE,
    KeyRing,
    SecretKeyError,
    UndecryptableSecret,
    derived_kid,
    key_ring,
)

KEY_A = base64.b64encode(b"a" * 32).decode()
KEY_B = base64.urlsafe_b64encode(b"b" * 32).decode().rstrip("=")
PURPOSE = "tenant.shared_secret"


def test_a_secret_round_trips_and_hides_its_plain_text() -> None:
    ring = KeyRing.parse(KEY_A)
    sealed = ring.encrypt("the secret", tenant="site:a/b", purpose=PURPOSE)
    assert sealed.startswith(f"v1:{derived_kid(b'a' * 32)}:")
    assert "the secret" not in sealed
    assert ring.decrypt(sealed, tenant="site:a/b", purpose=PURPOSE) == "the secret"
    assert ring.encrypt("the secret", tenant="site:a/b", purpose=PURPOSE) != sealed


@pytest.mark.parametrize(
    ("tenant", "purpose"), [("site:a/c", PURPOSE), ("site:a/b", "forge.system_token")]
)
def test_a_ciphertext_is_bound_to_its_tenant_and_purpose(tenant: str, purpose: str) -> None:
    ring = KeyRing.parse(KEY_A)
    sealed = ring.encrypt("the secret", tenant="site:a/b", purpose=PURPOSE)
    with pytest.raises(UndecryptableSecret):
        ring.decrypt(sealed, tenant=tenant, purpose=purpose)


def test_tampering_and_unknown_keys_are_refused() -> None:
    ring = KeyRing.parse(f"one:{KEY_A}")
    sealed = ring.encrypt("x", tenant="t", purpose=PURPOSE)
    flipped = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    for bad in (flipped, sealed.replace("v1:", "v2:"), "v1:two:AAAA", "garbage"):
        with pytest.raises(UndecryptableSecret):
            ring.decrypt(bad, tenant="t", purpose=PURPOSE)


def test_rotation_reads_old_keys_and_writes_the_first() -> None:
    old = KeyRing.parse(f"k1:{KEY_A}")
    sealed = old.encrypt("x", tenant="t", purpose=PURPOSE)
    both = KeyRing.parse(f"k2:{KEY_B},k1:{KEY_A}")
    assert both.current == "k2"
    assert not both.is_current(sealed)
    assert both.decrypt(sealed, tenant="t", purpose=PURPOSE) == "x"
    assert both.is_current(both.encrypt("x", tenant="t", purpose=PURPOSE))


@pytest.mark.parametrize(
    "setting",
    [
        "",
        " , ",
        "not base64!",
        base64.b64encode(b"short").decode(),
        f"bad kid:{KEY_A}",
        f"k1:{KEY_A},k1:{KEY_B}",
    ],
)
def test_malformed_settings_are_refused_without_echoing_keys(setting: str) -> None:
    with pytest.raises(SecretKeyError) as refused:
        KeyRing.parse(setting)
    assert KEY_A not in str(refused.value)
    assert KEY_B not in str(refused.value)


def test_the_ring_repr_shows_no_key() -> None:
    ring = KeyRing.parse(KEY_A)
    assert KEY_A not in repr(ring)
    assert "aaaa" not in repr(ring)


def test_development_generates_and_keeps_a_private_key(tmp_path: Path) -> None:
    first = key_ring(None, production=False, data_dir=tmp_path / "data")
    again = key_ring(None, production=False, data_dir=tmp_path / "data")
    assert first.current == again.current
    assert first.keys == again.keys
    mode = stat.S_IMODE(os.stat(tmp_path / "data" / DEV_KEY_FILE).st_mode)
    assert mode == 0o600
    assert list((tmp_path / "data").iterdir()) == [tmp_path / "data" / DEV_KEY_FILE]


def test_production_requires_a_key(tmp_path: Path) -> None:
    with pytest.raises(SecretKeyError, match="required in production"):
        key_ring(None, production=True, data_dir=tmp_path)
    assert not (tmp_path / DEV_KEY_FILE).exists()
    assert key_ring(KEY_A, production=True, data_dir=tmp_path).current == derived_kid(b"a" * 32)
