"""Stand-ins for the hosted providers (Google, iCloud, Nextcloud) that tests cannot reach.

Each is a front (``net.Front``) on the tests' private internet (``net.Internet``) before a real
Xandikos, doing what the provider's documentation and its users' bug reports say it does; the
module of each provider cites its sources next to every behaviour it models. A stand-in is
never easier than the provider it plays.
"""
