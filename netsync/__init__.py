"""netsync: keep in touch with the people in your CardDAV address book.

Follow-up and occasion reminders go into a CalDAV calendar; when you last had contact lives in a
small ``[netsync]`` block at the end of each contact's NOTE.
"""

__version__ = "0.1.0"
