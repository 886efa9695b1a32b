"""Step 5 of `netsync init`, keep the password: in the system keyring, behind a
password_command, or handed over by the user (a systemd credential, $NETSYNC_PASSWORD).

The choice is asked with the other questions; the keyring is written only at the end, with
everything else (``keep_password``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from netsync.commands.init.answers import Keeping, Login
from netsync.commands.init.login import run_password_command
from netsync.commands.init.prompter import Prompter


def keeping(args: argparse.Namespace, ui: Prompter, login: Login) -> Keeping:
    if not login.username:
        return Keeping("none")
    if login.source == "command":
        return Keeping("command", args.password_command)
    from netsync.app import secrets

    backend = secrets.keyring_backend()
    if backend:
        if ui.confirm(f"Keep the password in the system keyring ({backend})?", default=True):
            return Keeping("keyring")
    else:
        ui.say(
            "This machine has no keyring (no desktop session with a Secret Service or "
            "KWallet), so the password needs another place."
        )
    how = ui.choose(
        "How should netsync get the password?",
        [
            "from a command that prints it (password_command), e.g. `pass show dav/alice`",
            "I will hand it over myself: a systemd credential or $NETSYNC_PASSWORD",
        ],
        default=1,
        flag="--password-command",
    )
    if how == 1:
        return Keeping("elsewhere")
    while True:
        command = ui.ask(
            "The command (run by /bin/sh; the first line it prints is the password)",
            flag="--password-command",
        )
        if _command_prints(ui, command, login.password):
            return Keeping("command", command)
        ui.say("  That command did not print the password that just worked; try again.")


def _command_prints(ui: Prompter, command: str, password: str) -> bool:
    from netsync.app import secrets

    try:
        got = run_password_command(command)
    except secrets.SecretError as err:
        ui.say(f"  {err}")
        return False
    return got == password


def keep_password(ui: Prompter, login: Login, keeping: Keeping) -> None:
    from netsync.app import secrets

    if login.tokens is not None and keeping.how == "command":
        from netsync.app import oauth

        where = oauth.keep_in_file(Path(keeping.command.removeprefix("cat ")), login.password)
        ui.say(f"Kept the Google sign-in (a refresh token) in {where}, readable only by you.")
        return
    if keeping.how != "keyring":
        return
    try:
        where = secrets.set_password(login.username, login.password)
    except secrets.SecretError as err:
        ui.say(f"Could not keep the password in the keyring: {err}.")
        say_how_to_hand_over(ui, login.username, None)
        return
    ui.say(f"Kept the password in the {where}.")


def say_how_to_hand_over(ui: Prompter, username: str, path: Path | None) -> None:
    folder = path.parent if path else Path("~/.config/netsync")
    ui.say(
        f"""
The config holds no password. Give netsync the password of {username} one of these ways:
  * for the service, as a systemd credential: put it in a file only you can read,
        (umask 077; systemd-ask-password "Password:" > {folder}/password)
    and add to the unit (`systemctl --user edit netsync`):
        [Service]
        LoadCredential=netsync-password:{folder}/password
  * from a command: set password_command in the config, e.g. "pass show dav/{username}"
  * in a shell: read -rs NETSYNC_PASSWORD && export NETSYNC_PASSWORD"""
    )


def summary(keeping: Keeping) -> str:
    """Where the password will be, for the summary before the go-ahead."""
    return {
        "keyring": "the system keyring",
        "command": f"`{keeping.command}`",
        "elsewhere": "you hand it over (how: after the config is written)",
        "none": "none needed",
    }[keeping.how]
