"""`python -m netsync`: the same as the `netsync` command."""

from netsync.commands import entry

entry()
