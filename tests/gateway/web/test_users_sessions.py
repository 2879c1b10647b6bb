"""Users file (salted scrypt hashes, errors naming table and key) and login sessions."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.web import UsersFileError, hash_password, load_users, save_user, verify_password
from gateway.web._sessions import SessionStore


def test_hashes_are_salted_and_verify_only_the_right_password() -> None:
    first, second = hash_password("secret"), hash_password("secret")
    assert first != second  # a fresh salt each time
    assert verify_password("secret", first) and verify_password("secret", second)
    assert not verify_password("Secret", first)
    assert not verify_password("secret", "scrypt$16384$8$1$AAAA$")
    assert not verify_password("secret", "plain:secret")


def test_users_file_round_trip_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    save_user(path, "alice", "admin", "pw1")
    save_user(path, "bob", "viewer", "pw2")
    save_user(path, "alice", "viewer", "pw3")  # replaced, not duplicated
    users = load_users(path)
    assert {(u.name, u.level) for u in users.values()} == {("alice", "viewer"), ("bob", "viewer")}
    assert verify_password("pw3", users["alice"].password_hash)
    assert path.stat().st_mode & 0o077 == 0

    cases = {
        '[users.carol]\nlevel = "root"\npassword = "x"\n': r"\[users\.carol\].*'level'",
        '[users.carol]\nlevel = "admin"\npassword = "x"\n': r"\[users\.carol\].*'password'",
        '[users.carol]\nlevel = "admin"\n': r"\[users\.carol\].*'password'",
        '[users.carol]\nlevel = "admin"\ncolour = 1\n': r"unknown key 'colour'",
        '[people.carol]\n': r"unknown top-level key 'people'",
        'users = [': r"not a TOML file",
    }
    for text, message in cases.items():
        path.write_text(text)
        with pytest.raises(UsersFileError, match=message):
            load_users(path)
    with pytest.raises(UsersFileError, match="letters, digits"):
        save_user(tmp_path / "u.toml", "a b", "admin", "pw")


def test_sessions_expire_and_csrf_tokens_are_per_session() -> None:
    store = SessionStore(lifetime=100)
    token = store.open("alice", "admin", now=0)
    other = store.open("bob", "viewer", now=0)
    session = store.get(token, now=50)
    assert session and session.user == "alice" and session.is_admin
    assert store.csrf_ok(session, session.csrf_token)
    other_session = store.get(other, now=50)
    assert other_session
    assert not store.csrf_ok(session, other_session.csrf_token)
    assert not store.csrf_ok(session, "")
    assert store.get(token, now=100) is None
    store.close(other)
    assert store.get(other, now=1) is None


def test_failed_logins_lock_a_name_out_for_a_while() -> None:
    store = SessionStore(max_failures=3, lockout=60)
    for moment in (0, 1, 2):
        assert not store.locked_out("alice", moment)
        store.failed("alice", moment)
    assert store.locked_out("alice", 3)
    assert not store.locked_out("bob", 3)
    assert not store.locked_out("alice", 62)  # the failures aged out
