"""A keyring backend in a dict, for the tests that store or read a password in "the keyring".

It declares no priority, so keyring's own detection never picks it: only a test that calls
``keyring.set_keyring`` with it gets it, and puts the previous backend back afterwards.
"""

from __future__ import annotations

from keyring.backend import KeyringBackend


class MemoryKeyring(KeyringBackend):
    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        del self.store[(service, username)]
