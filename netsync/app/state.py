"""The local state directory: a cache of sync tokens, cards and calendar objects, of the
contacts parsed from the cards, and of how far the mail folders have been read (SPEC 1, 6).

It is only a cache. Deleting it, or finding it full of garbage, costs one full read of the
address book and the calendar on the next cycle and nothing else: no data lives only here.
One SQLite file, written in one transaction per collection so a crash leaves the previous,
consistent copy.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netsync.core.cycle import Tally

log = logging.getLogger(__name__)

SCHEMA_VERSION = "1"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS collections (
    url TEXT PRIMARY KEY, token TEXT
);
CREATE TABLE IF NOT EXISTS items (
    collection TEXT NOT NULL, href TEXT NOT NULL, etag TEXT NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (collection, href)
);
CREATE TABLE IF NOT EXISTS parsed (
    collection TEXT NOT NULL, href TEXT NOT NULL, etag TEXT NOT NULL, day TEXT NOT NULL,
    data TEXT NOT NULL, PRIMARY KEY (collection, href)
);
CREATE TABLE IF NOT EXISTS written (
    collection TEXT NOT NULL, href TEXT NOT NULL, PRIMARY KEY (collection, href)
);
CREATE TABLE IF NOT EXISTS mail_folders (
    account TEXT NOT NULL, folder TEXT NOT NULL, validity INTEGER NOT NULL,
    uidnext INTEGER NOT NULL, PRIMARY KEY (account, folder)
);
CREATE TABLE IF NOT EXISTS mail_seen (address TEXT PRIMARY KEY, day TEXT NOT NULL);
"""


@dataclass(frozen=True)
class MailPosition:
    """How far one mail folder has been read: its UIDVALIDITY, and the UIDNEXT it had then
    (every message with a lower UID has been read)."""

    validity: int
    uidnext: int


class State:
    """Cached copies of collections: ``url -> (token, {href: (etag, data)})``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / "state.sqlite"
        try:
            _make_private_dir(directory)
            self._db = self._open()
        except (OSError, sqlite3.OperationalError) as err:
            if isinstance(err, sqlite3.OperationalError) and "unable to open" not in str(err):
                raise  # "database is locked" and the like are no setting of the user's
            # Not a cache problem but a setting: the path is a file, or not ours to write.
            # A ConfigError is what the CLI reports as such (exit 78), without a traceback.
            from netsync.app.config import ConfigError

            problem = f"[state] dir {directory}: cannot be used ({err})"
            raise ConfigError([f"{problem}; give a directory netsync may write"]) from err

    def _open(self) -> sqlite3.Connection:
        try:
            db = self._connect()
            version = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if version is None or version[0] != SCHEMA_VERSION:
                raise sqlite3.DatabaseError(f"schema {version!r}")
            return db
        except sqlite3.DatabaseError as err:
            log.warning("state file %s unreadable (%s): starting a new one", self.path, err)
            for suffix in ("", "-journal", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            return self._connect()

    def _connect(self) -> sqlite3.Connection:
        fresh = not self.path.exists()
        db = sqlite3.connect(self.path, isolation_level=None)
        if fresh:
            os.chmod(self.path, 0o600)
        db.executescript(_SCHEMA)
        if fresh:
            db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        return db

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def token(self, url: str) -> str | None:
        row = self._db.execute("SELECT token FROM collections WHERE url = ?", (url,)).fetchone()
        return None if row is None else row[0]

    def etags(self, url: str) -> dict[str, str]:
        rows = self._db.execute("SELECT href, etag FROM items WHERE collection = ?", (url,))
        return dict(rows.fetchall())

    def lazy_etags(self, url: str) -> Mapping[str, str]:
        """``etags(url)``, read only when first looked into: a sync whose report lists
        nothing needs none of them (at 10,000 cards, 10,000 rows a cycle for nothing)."""
        return _Lazy(lambda: self.etags(url))

    def items(self, url: str) -> dict[str, tuple[str, bytes]]:
        rows = self._db.execute("SELECT href, etag, data FROM items WHERE collection = ?", (url,))
        return {href: (etag, bytes(data)) for href, etag, data in rows.fetchall()}

    def item(self, url: str, href: str) -> tuple[str, bytes] | None:
        row = self._db.execute(
            "SELECT etag, data FROM items WHERE collection = ? AND href = ?", (url, href)
        ).fetchone()
        return None if row is None else (row[0], bytes(row[1]))

    def apply(
        self,
        url: str,
        *,
        token: str | None,
        changed: Iterable[tuple[str, str, bytes]],
        deleted: Iterable[str],
        complete: bool,
        keep: Iterable[str] = (),
    ) -> None:
        """Store a sync result: ``changed`` (href, etag, data), ``deleted`` hrefs; on a complete
        listing every cached href not in ``changed`` or ``keep`` is dropped. The sync has
        accounted for our own writes since the old token: they are forgotten."""
        changed = list(changed)
        with self.transaction():
            self._db.execute("DELETE FROM written WHERE collection = ?", (url,))
            if complete:
                keep_set = set(keep) | {href for href, _, _ in changed}
                for (href,) in self._db.execute(
                    "SELECT href FROM items WHERE collection = ?", (url,)
                ).fetchall():
                    if href not in keep_set:
                        self._db.execute(
                            "DELETE FROM items WHERE collection = ? AND href = ?", (url, href)
                        )
            self._db.executemany(
                "INSERT OR REPLACE INTO items VALUES (?, ?, ?, ?)",
                [(url, href, etag, data) for href, etag, data in changed],
            )
            self._db.executemany(
                "DELETE FROM items WHERE collection = ? AND href = ?",
                [(url, href) for href in deleted],
            )
            self._db.execute("INSERT OR REPLACE INTO collections VALUES (?, ?)", (url, token))

    def forget_token(self, url: str) -> None:
        """Make the next sync of ``url`` a full listing (the cache missed something)."""
        self._db.execute("UPDATE collections SET token = NULL WHERE url = ?", (url,))

    def put_item(self, url: str, href: str, etag: str | None, data: bytes) -> None:
        """Record our own write. Without an ETag from the server the copy is dropped, so the
        next sync reads the server's version (RFC 7231 4.3.4: no ETag, the body was changed)."""
        if etag is None:
            self.drop_item(url, href)
            return
        self._db.execute(
            "INSERT OR REPLACE INTO items VALUES (?, ?, ?, ?)", (url, href, etag, data)
        )

    def drop_item(self, url: str, href: str) -> None:
        self._db.execute("DELETE FROM items WHERE collection = ? AND href = ?", (url, href))

    def put_written(self, url: str, href: str, etag: str | None, data: bytes) -> None:
        """Record our own write (``put_item``) and remember that the next sync, from the
        token cached now, must account for it (see ``written``). One transaction: the cache
        never holds a write of ours that the next sync would not check."""
        with self.transaction():
            self.put_item(url, href, etag, data)
            self._db.execute("INSERT OR REPLACE INTO written VALUES (?, ?)", (url, href))

    def written(self, url: str) -> set[str]:
        """The hrefs we wrote in ``url`` since its cached token was taken."""
        rows = self._db.execute("SELECT href FROM written WHERE collection = ?", (url,))
        return {href for (href,) in rows.fetchall()}

    def parsed(
        self, url: str, day: str, hrefs: Iterable[str] | None = None
    ) -> dict[str, tuple[str, str]]:
        """What was made of each cached item (of those at ``hrefs``) on ``day``:
        ``href -> (etag, data)``."""
        query = "SELECT href, etag, data FROM parsed WHERE collection = ? AND day = ?"
        if hrefs is None:
            rows = self._db.execute(query, (url, day)).fetchall()
        else:
            rows = [
                row
                for href in hrefs
                for row in self._db.execute(query + " AND href = ?", (url, day, href))
            ]
        return {href: (etag, data) for href, etag, data in rows}

    def parsed_etags(self, url: str) -> dict[str, str]:
        """``href -> etag`` of the version of each item last parsed, on whatever day."""
        rows = self._db.execute("SELECT href, etag FROM parsed WHERE collection = ?", (url,))
        return dict(rows.fetchall())

    def put_parsed(self, url: str, day: str, rows: Iterable[tuple[str, str, str]]) -> None:
        """Record ``(href, etag, data)`` for ``day``; entries of other days, and of items no
        longer cached, go."""
        with self.transaction():
            self._db.execute("DELETE FROM parsed WHERE collection = ? AND day != ?", (url, day))
            self._db.execute(
                "DELETE FROM parsed WHERE collection = ? AND href NOT IN"
                " (SELECT href FROM items WHERE collection = ?)",
                (url, url),
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO parsed VALUES (?, ?, ?, ?, ?)",
                [(url, href, etag, day, data) for href, etag, data in rows],
            )

    # -- what a cycle keeps besides the collections: one row each in ``meta``, behind typed
    # methods; a value that does not read back is as good as none (it is a cache).

    def address_books(self, account: str) -> list[str] | None:
        """The address books found from the contacts account's URL, if looked up before."""
        found = self._json(f"books:{account}")
        if isinstance(found, list) and all(isinstance(book, str) for book in found):
            return found
        return None

    def keep_address_books(self, account: str, books: Sequence[str]) -> None:
        self._set_meta(f"books:{account}", json.dumps(list(books)))

    def calendar(self, account: str, name: str) -> str | None:
        """The URL of the calendar called ``name`` on the account at ``account``, if found
        before (the reminders calendar, or a ``[detect] calendars`` entry)."""
        return self._get_meta(f"calendar:{account}|{name}") or None

    def keep_calendar(self, account: str, name: str, url: str) -> None:
        self._set_meta(f"calendar:{account}|{name}", url)

    def sync_refused(self, url: str) -> dt.datetime | None:
        """When the collection at ``url`` last refused a sync-collection REPORT from scratch
        and its PROPFIND listing gave no sync-token (a server without RFC 6578, sabre/dav
        1.8), if it did: the cycle then lists it without asking (app/sync.py)."""
        found = self._get_meta(f"nosync:{url}")
        try:
            when = dt.datetime.fromisoformat(found) if found else None
        except ValueError:
            return None
        return when if when is not None and when.tzinfo is not None else None

    def keep_sync_refused(self, url: str, when: dt.datetime | None) -> None:
        """Remember the refusal at ``when`` (None: forget it, the collection syncs)."""
        self._set_meta(f"nosync:{url}", when.isoformat() if when is not None else "")

    def lost(self, url: str) -> dict[str, bytes]:
        """Objects gone from the calendar at ``url`` that no cycle has learnt from yet:
        ``href -> what the cache held of them``."""
        found = self._json(f"lost:{url}")
        if not isinstance(found, dict):
            return {}
        try:
            return {href: data.encode("latin-1") for href, data in found.items()}
        except (AttributeError, UnicodeEncodeError):
            return {}

    def keep_lost(self, url: str, lost: Mapping[str, bytes]) -> None:
        """Keep what disappeared until a cycle has learnt from it (``{}``: it has)."""
        value = json.dumps({h: d.decode("latin-1") for h, d in lost.items()}) if lost else ""
        self._set_meta(f"lost:{url}", value)

    def take_last_plan(self) -> LastPlan | None:
        """The last complete cycle's mark, taken away: a cycle keeps it again (keep_last_plan)
        only once it has written everything it meant to, so a crash or a dry run in between
        never lets a later cycle build on a plan the calendar may not hold."""
        found = self._json("complete")
        self._set_meta("complete", "")
        if not isinstance(found, dict):
            return None
        try:
            tally = Tally(
                cards_read=int(found["cards_read"]),
                cards_skipped=int(found["cards_skipped"]),
                planned=int(found["planned"]),
                due_today=int(found["due_today"]),
                shared_uids=tuple(str(uid) for uid in found["shared_uids"]),
            )
            return LastPlan(str(found["key"]), tally)
        except (KeyError, TypeError, ValueError):
            return None

    def keep_last_plan(self, mark: LastPlan) -> None:
        tally = mark.tally
        self._set_meta(
            "complete",
            json.dumps(
                {
                    "key": mark.key,
                    "cards_read": tally.cards_read,
                    "cards_skipped": tally.cards_skipped,
                    "planned": tally.planned,
                    "due_today": tally.due_today,
                    "shared_uids": sorted(set(tally.shared_uids)),
                }
            ),
        )

    def _json(self, key: str) -> Any:
        raw = self._get_meta(key)
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return None

    def _get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    # -- mail (app/mailbox.py) ---------------------------------------------------------------

    def mail_folder(self, account: str) -> str | None:
        """The sent folder found on ``account`` before (so a cycle need not LIST again)."""
        return self._get_meta(f"mail-folder:{account}")

    def set_mail_folder(self, account: str, folder: str | None) -> None:
        key = f"mail-folder:{account}"
        if folder is None:
            self._db.execute("DELETE FROM meta WHERE key = ?", (key,))
        else:
            self._set_meta(key, folder)

    def mail_position(self, account: str, folder: str) -> MailPosition | None:
        row = self._db.execute(
            "SELECT validity, uidnext FROM mail_folders WHERE account = ? AND folder = ?",
            (account, folder),
        ).fetchone()
        return None if row is None else MailPosition(int(row[0]), int(row[1]))

    def mail_days(self) -> dict[str, dt.date]:
        """Address -> the newest day mail went to (or came from) it, as far as read."""
        rows = self._db.execute("SELECT address, day FROM mail_seen").fetchall()
        out = {}
        for address, day in rows:
            try:
                out[address] = dt.date.fromisoformat(day)
            except ValueError:
                continue  # a damaged row: the next rescan writes it again
        return out

    def record_mail(
        self,
        account: str,
        folder: str,
        position: MailPosition,
        days: Mapping[str, dt.date],
        *,
        keep_after: dt.date,
    ) -> None:
        """What reading ``folder`` up to ``position`` brought: the newer ``days`` (address ->
        day). One transaction, so the position never runs ahead of what was learnt. Days
        before ``keep_after`` (older than ``[mail] since_days``) are forgotten."""
        with self.transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO mail_seen VALUES (?, ?)",
                [(address, day.isoformat()) for address, day in days.items()],
            )
            self._db.execute("DELETE FROM mail_seen WHERE day < ?", (keep_after.isoformat(),))
            self._db.execute(
                "INSERT OR REPLACE INTO mail_folders VALUES (?, ?, ?, ?)",
                (account, folder, position.validity, position.uidnext),
            )


@dataclass(frozen=True)
class LastPlan:
    """The mark of a complete cycle: under which inputs it planned (``key``), and its counts."""

    key: str
    tally: Tally


class _Lazy(Mapping[str, str]):
    def __init__(self, load: Callable[[], dict[str, str]]) -> None:
        self._load = load
        self._data: dict[str, str] | None = None

    def _get(self) -> dict[str, str]:
        if self._data is None:
            self._data = self._load()
        return self._data

    def __getitem__(self, key: str) -> str:
        return self._get()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


def _make_private_dir(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    if directory.stat().st_mode & 0o077:
        os.chmod(directory, 0o700)
