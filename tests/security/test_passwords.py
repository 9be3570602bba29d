"""Passwords: Argon2id, rehash when parameters change, length and common-password rules."""

import pytest

from app.security import passwords
from app.security.passwords import HashParams, verify_password, weakness


def test_hash_is_argon2id_and_salted() -> None:
    a, b = (
        passwords.hash_password("orchid-lantern-9-ferry"),
        passwords.hash_password("orchid-lantern-9-ferry"),
    )
    assert a.startswith("$argon2id$")
    assert a != b
    assert verify_password(a, "orchid-lantern-9-ferry") == (True, None)
    assert verify_password(a, "orchid-lantern-9-ferrY") == (False, None)


def test_unknown_account_still_costs_a_verification(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = passwords.PasswordHasher.verify

    def counting(self: passwords.PasswordHasher, hash: str, password: str) -> bool:
        calls.append(hash)
        return real(self, hash, password)

    monkeypatch.setattr(passwords.PasswordHasher, "verify", counting)
    assert verify_password(None, "anything-at-all-here") == (False, None)
    assert len(calls) == 1


def test_changed_parameters_ask_for_a_rehash() -> None:
    old = passwords.hash_password("orchid-lantern-9-ferry")
    cheap = HashParams(time_cost=1, memory_cost_kib=8, parallelism=1)
    passwords.use_params(HashParams(time_cost=2, memory_cost_kib=16, parallelism=1))
    try:
        ok, new = verify_password(old, "orchid-lantern-9-ferry")
        assert ok
        assert new is not None
        assert "$m=16,t=2,p=1$" in new  # every parameter asked for, memory too
        assert verify_password(new, "orchid-lantern-9-ferry") == (True, None)
    finally:
        passwords.use_params(cheap)


def test_the_common_list_ships_with_the_package() -> None:
    common = passwords.common_passwords()
    assert len(common) > 20000
    assert "password" in common
    assert "qwertyuiop123" in common


@pytest.mark.parametrize(
    "candidate",
    [
        "short-one",
        "password1234",
        "Password2024!",
        "qwertyuiopasdfghjkl",
        "123456789012",
        "aaaaaaaaaaaaaaaa",
        "abababababab",
        "monkeymonkey",
        "ЙЦУКЕНГШЩЗХ1",
        "iloveyou2025",
    ],
)
def test_weak_passwords_are_refused(candidate: str) -> None:
    assert weakness(candidate) is not None


def test_password_containing_the_account_name_is_refused() -> None:
    assert weakness("marta.kovalenko-is-great", email="marta.kovalenko@example.invalid")


@pytest.mark.parametrize("candidate", ["violet-harbour-quietly-7", "тихий вечер над рекой 42"])
def test_good_passphrases_pass(candidate: str) -> None:
    assert weakness(candidate, email="someone@example.invalid") is None


def test_at_most_two_hashes_run_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sixteen sign-ins at the same moment must not take sixteen times 64 MiB: verifications
    and hashes past the limit wait their turn (and every one of them still happens)."""
    import threading
    import time

    running = 0
    most = 0
    lock = threading.Lock()
    real_verify, real_hash = passwords.PasswordHasher.verify, passwords.PasswordHasher.hash

    def observed(real):  # type: ignore[no-untyped-def]
        def run(self, *args):  # type: ignore[no-untyped-def]
            nonlocal running, most
            with lock:
                running += 1
                most = max(most, running)
            time.sleep(0.05)  # long enough for the others to arrive while this one runs
            try:
                return real(self, *args)
            finally:
                with lock:
                    running -= 1

        return run

    stored = passwords.hash_password("orchid-lantern-9-ferry")
    passwords._dummy_hash()
    monkeypatch.setattr(passwords.PasswordHasher, "verify", observed(real_verify))
    monkeypatch.setattr(passwords.PasswordHasher, "hash", observed(real_hash))
    results: list[bool] = []
    work = [
        lambda: results.append(verify_password(stored, "orchid-lantern-9-ferry")[0]),
        lambda: results.append(verify_password(None, "orchid-lantern-9-ferry")[0]),
        lambda: results.append(passwords.hash_password("orchid-lantern-9-ferry") != stored),
    ] * 6
    threads = [threading.Thread(target=job) for job in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 18
    assert results.count(False) == 6  # the unknown accounts; the rest verified or hashed
    assert most == passwords.MAX_CONCURRENT == 2


@pytest.mark.parametrize(
    ("candidate", "email", "weak"),
    [
        # The bounds themselves: 12 and 1,024 characters are allowed, 11 and 1,025 not.
        ("violet-harb7", "", False),
        ("violet-harb", "", True),
        (("violet-harbour-quietly-7 " * 41)[:1024], "", False),
        (("violet-harbour-quietly-7 " * 41)[:1025], "", True),
        # Five different characters are enough; four are not.
        ("abcdeedcbaab", "", False),
        ("abcdabcdabcc", "", True),
        # A common word doubled is common; a common word followed by something else is not.
        ("sunflowersunflower!!", "", True),
        ("aberdeenaberdeen", "", True),
        ("monkeyzqxjvwb", "", False),
        # An account name of four letters in the password is refused; of three, not.
        ("anna-violet-harbour", "anna@example.invalid", True),
        ("ann-violet-harbour", "ann@example.invalid", False),
    ],
)
def test_the_rules_at_their_edges(candidate: str, email: str, weak: bool) -> None:
    assert (weakness(candidate, email=email) is not None) is weak


def test_a_password_of_the_longest_allowed_length_verifies() -> None:
    longest = ("violet-harbour-quietly-7 " * 41)[:1024]
    stored = passwords.hash_password(longest)
    assert verify_password(stored, longest) == (True, None)
    assert verify_password(stored, longest + "x") == (False, None)


def test_the_first_hash_without_settings_uses_the_shipped_parameters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A process that set no parameters (a CLI, a worker) hashes with the shipped ones."""
    monkeypatch.setattr(passwords, "_state", {})
    hasher = passwords._hasher()
    assert (hasher.time_cost, hasher.memory_cost, hasher.parallelism) == (3, 64 * 1024, 4)
