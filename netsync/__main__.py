"""`python -m netsync`: the same as the `netsync` command."""

from netsync.cli import entry

entry()
