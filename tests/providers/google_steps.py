"""What the Google tests do as a user would: sign in through the browser, fill the address
book, write the config (shared by test_google.py and test_google_mail.py)."""

from __future__ import annotations

import threading
import urllib.request
from pathlib import Path

from netsync.app import demo, oauth
from tests.scenario import TODAY
from tests.standins import google as gs


def sign_in(g: gs.Google, *, mail: bool = False) -> str:
    """The consent flow as a user goes through it: netsync prints a link, the user opens it
    in a browser and allows access (the mail too, when ``mail``); the browser lands on
    netsync's loopback listener."""
    client = oauth.Client(oauth.GOOGLE, gs.CLIENT_ID, gs.CLIENT_SECRET)
    browsed: list[threading.Thread] = []

    def say(url: str) -> None:
        def browser() -> None:
            back = g.consent_url(url)
            assert back.startswith("http://127.0.0.1:")
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            with opener.open(back, timeout=10) as page:
                assert b"signed in" in page.read()

        thread = threading.Thread(target=browser)
        thread.start()
        browsed.append(thread)

    also = (oauth.MAIL_SCOPE,) if mail else ()
    grant = oauth.consent(client, say=say, timeout=30, also=also)
    for thread in browsed:
        thread.join(10)
    return grant.refresh_token


def upload(g: gs.Google) -> list[dict[str, str]]:
    """The demo's sample people, PUT as a phone would."""
    people = demo.sample_people(TODAY)
    for index, person in enumerate(people):
        assert gs.put_card(g, f"p{index:03d}.vcf", demo.vcard(person, index)) == 201
    return people


def write_config(tmp_path: Path, *, calendar: str = "Keep in touch", more: str = "") -> Path:
    """A config for the Google account; ``more``: sections added before ``[state]``."""
    path = tmp_path / "config.toml"
    path.write_text(
        "[contacts]\n"
        f'url = "{gs.CARDDAV_URL}"\n'
        f'username = "{gs.EMAIL}"\n'
        f'oauth_client_id = "{gs.CLIENT_ID}"\n'
        f'oauth_client_secret = "{gs.CLIENT_SECRET}"\n'
        "[reminders]\n"
        f'url = "{gs.CALDAV_URL}"\n'
        f'calendar = "{calendar}"\n'
        f"{more}"
        "[state]\n"
        f'dir = "{tmp_path / "state"}"\n'
    )
    path.chmod(0o600)
    return path
