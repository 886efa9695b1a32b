"""Every CLI test gets the test servers' password from the environment, as a user would."""

from __future__ import annotations

import pytest

from tests import servers


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETSYNC_PASSWORD", servers.PASSWORD)
    monkeypatch.delenv("NETSYNC_CONFIG", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
