"""netsync.dav.addressbook against real servers: discovery, sync, multiget, PUT.

Xandikos and sabre/dav store bytes verbatim, so byte-exactness is checked there; Radicale
rewrites cards through vobject and checks Basic auth, so it covers "the server normalises" and
auth; SOGo rewrites cards too, and drops their CRs inside XML reports. sabre/dav 1.8 has no
sync-collection: every listing there is the refused REPORT and a PROPFIND. Requests are counted
by wrapping ``client.request`` (every call dav_contacts makes).
"""

from __future__ import annotations

import base64
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from caldav.response import DAVResponse

from netsync import dav
from netsync.dav import addressbook
from netsync.dav.addressbook import Card, CardChanges, Conflict, Rejected
from tests import servers
from tests.vcards import vcard

Connect = Callable[..., Any]
SOGO_TAKES_ANY_TOKEN = (
    "SOGo 5.8 refuses no sync token: one it cannot read is answered with every live member as "
    "changes, never with DAV:valid-sync-token, so the full-listing fallback never runs there"
)

CRLF_CARD = (
    "BEGIN:VCARD\r\n"
    "VERSION:3.0\r\n"
    "UID:crlf-1\r\n"
    "FN:Jos\u00e9 M\u00fcller & <Co>\r\n"
    "N:M\u00fcller;Jos\u00e9;;;\r\n"
    "item1.X-ABDATE:2001-05-12\r\n"
    "item1.X-ABLabel:_$!<Anniversary>!$_\r\n"
    "NOTE:A long note that goes on and on so that it has to be folded at seventy-fi\r\n"
    " ve octets\\, with \u00fc and \u20ac in it\r\n"
    "END:VCARD\r\n"
)
LF_CARD = vcard("lf-1", "Lena Lf", n="Lf;Lena;;;", eol="\n")
MIXED_CARD = (
    "BEGIN:VCARD\r\nVERSION:3.0\nUID:mixed-1\r\nFN:Max Mixed\nN:Mixed;Max;;;\r\nEND:VCARD\r\n"
)


def _card(uid: str, fn: str = "Some One", note: str = "") -> str:
    return vcard(uid, fn, n=f"{fn};;;;", note=note or None)


@pytest.fixture
def connect() -> Iterator[Callable[..., Any]]:
    """Make DAVClients for a test and close them afterwards (open sockets fail the run)."""
    made: list[Any] = []

    def make(server: servers.Server, *, password: str | None = None) -> Any:
        client = dav.connect(
            dav.Account(
                server.root,
                server.username,
                server.password if password is None else password,
                timeout=10,
            )
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def _path(server: servers.Server) -> str:
    """The address book's path, as hrefs start."""
    return "/" + server.addressbook.split("/", 3)[3]


def _delete(server: servers.Server, name: str) -> int:
    """DELETE a card as another client (a phone) would."""
    req = urllib.request.Request(server.addressbook + name, method="DELETE")
    if server.needs_auth:
        token = base64.b64encode(f"{server.username}:{server.password}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return int(resp.status)


@contextmanager
def counted(client: Any) -> Iterator[list[str]]:
    """The methods of the requests made through ``client.request`` inside the block."""
    calls: list[str] = []
    original = client.request

    def request(url: str, method: str = "GET", *args: Any, **kwargs: Any) -> Any:
        calls.append(method)
        return original(url, method, *args, **kwargs)

    client.request = request
    try:
        yield calls
    finally:
        del client.request


def _by_uid(cards: list[Card]) -> dict[str, Card]:
    out = {}
    for card in cards:
        uid = next(line[4:] for line in card.text.splitlines() if line.startswith("UID:"))
        out[uid] = card
    return out


def _initial(client: Any, server: servers.Server) -> CardChanges:
    return addressbook.fetch_changes(client, server.addressbook, token=None, known={})


def _known(changes: CardChanges) -> dict[str, str]:
    return {card.href: card.etag for card in changes.changed}


def listing(server: servers.Server) -> list[str]:
    """The requests of a read that finds nothing new: one sync-collection REPORT, or where
    the server has none (sabre/dav 1.8) the refused REPORT and a PROPFIND listing."""
    return ["REPORT"] if server.has_sync_collection else ["REPORT", "PROPFIND"]


def lines(text: str) -> list[str]:
    """A card's lines without their endings: SOGo's XML reports carry its CRLFs as bare LFs
    (XML turns a raw CR LF into LF; Radicale and Xandikos send the CR as &#13;)."""
    return text.splitlines()


# ---------------------------------------------------------------------------------------------
# Discovery


@pytest.mark.parametrize("start", ["root", "principal", "book"])
def test_discovery_finds_the_address_book(
    server: servers.Server, start: str, connect: Connect
) -> None:
    url = {
        "root": server.root,
        "principal": server.principal,
        "book": server.addressbook,
    }[start]
    client = connect(server)
    assert addressbook.find_address_books(client, url) == [server.addressbook]


def test_discovery_from_the_book_costs_one_request(
    server: servers.Server, connect: Connect
) -> None:
    client = connect(server)
    with counted(client) as calls:
        addressbook.find_address_books(client, server.addressbook)
    assert calls == ["PROPFIND"]


def test_a_calendar_is_not_an_address_book(server: servers.Server, connect: Connect) -> None:
    client = connect(server)
    calendar = f"{server.root}alice/calendars/calendar/"
    if server.kind != "xandikos":  # the others start without a calendar we may name
        calendar = f"{server.calendar_home}netsync-test/"
        assert client.mkcalendar(calendar).status == 201
    with pytest.raises(dav.WrongCollection, match="is a calendar, not an address book"):
        addressbook.find_address_books(client, calendar)


def test_nothing_found_names_what_was_tried(xandikos: servers.Server, connect: Connect) -> None:
    client = connect(xandikos)
    url = f"{xandikos.root}nobody/"
    with pytest.raises(dav.DavError, match=r"no address book found .*nobody/: PROPFIND answered"):
        addressbook.find_address_books(client, url)


def test_a_wrong_password_is_auth_failed(radicale: servers.Server, connect: Connect) -> None:
    client = connect(radicale, password="wrong")
    with pytest.raises(dav.AuthFailed):
        addressbook.find_address_books(client, radicale.addressbook)


# ---------------------------------------------------------------------------------------------
# fetch_changes


def test_initial_fetch_is_byte_exact_on_xandikos(
    xandikos: servers.Server, connect: Connect
) -> None:
    cards = {"crlf.vcf": CRLF_CARD, "lf.vcf": LF_CARD, "mixed.vcf": MIXED_CARD}
    for name, text in cards.items():
        assert servers.put_card(xandikos, name, text) == 201
    client = connect(xandikos)
    with counted(client) as calls:
        changes = _initial(client, xandikos)
    assert calls == ["REPORT", "REPORT"]  # sync-collection + one multiget
    assert changes.complete and changes.token and not changes.deleted
    got = {card.href: card.text for card in changes.changed}
    assert got == {_path(xandikos) + name: text for name, text in cards.items()}


def test_initial_fetch_on_radicale_gets_its_rewritten_cards(
    radicale: servers.Server, connect: Connect
) -> None:
    assert servers.put_card(radicale, "crlf.vcf", CRLF_CARD) == 201
    assert servers.put_card(radicale, "lf.vcf", LF_CARD) == 201
    changes = _initial(connect(radicale), radicale)
    cards = _by_uid(changes.changed)
    assert set(cards) == {"crlf-1", "lf-1"}
    for card in cards.values():  # Radicale re-serialises through vobject: CRLF everywhere
        assert card.text.endswith("END:VCARD\r\n")
        assert "\n" not in card.text.replace("\r\n", "")
        assert card.etag.startswith('"') and card.href.startswith(_path(radicale))
    assert "FN:Jos\u00e9 M\u00fcller & <Co>\r\n" in cards["crlf-1"].text


def test_initial_fetch_of_an_empty_book(server: servers.Server, connect: Connect) -> None:
    changes = _initial(connect(server), server)
    assert changes.changed == [] and changes.deleted == [] and changes.complete
    assert bool(changes.token) == server.has_sync_collection


def test_no_change_costs_one_request(server: servers.Server, connect: Connect) -> None:
    for i in range(3):
        assert servers.put_card(server, f"c{i}.vcf", _card(f"c{i}")) == 201
    client = connect(server)
    first = _initial(client, server)
    assert len(first.changed) == 3
    with counted(client) as calls:
        again = addressbook.fetch_changes(
            client, server.addressbook, token=first.token, known=_known(first)
        )
    assert calls == listing(server)
    assert again.changed == [] and again.deleted == []
    # A PROPFIND listing is complete; a sync report lists only what changed.
    assert again.complete != server.has_sync_collection
    assert bool(again.token) == server.has_sync_collection


def test_a_card_changed_elsewhere_comes_back_alone(
    server: servers.Server, connect: Connect
) -> None:
    for uid in ("a", "b", "c"):
        assert servers.put_card(server, f"{uid}.vcf", _card(uid)) == 201
    client = connect(server)
    first = _initial(client, server)
    etag_b = _by_uid(first.changed)["b"].etag
    edited = _card("b", fn="Bea Edited", note="met at the fair")
    assert servers.put_card(server, "b.vcf", edited, etag=etag_b) in (200, 201, 204)
    servers.settle(server)  # a token of a later second than the edit
    with counted(client) as calls:
        changes = addressbook.fetch_changes(
            client, server.addressbook, token=first.token, known=_known(first)
        )
    assert calls == [*listing(server), "REPORT"]  # the listing + multiget of the one card
    assert [card.href for card in changes.changed] == [_path(server) + "b.vcf"]
    assert "FN:Bea Edited" in lines(changes.changed[0].text)
    assert changes.changed[0].etag != etag_b
    assert changes.deleted == []
    if server.has_sync_collection:
        assert not changes.complete and changes.token != first.token
    if server.stores_verbatim:
        assert changes.changed[0].text == edited


def test_a_card_deleted_elsewhere_is_reported(server: servers.Server, connect: Connect) -> None:
    for uid in ("a", "b"):
        assert servers.put_card(server, f"{uid}.vcf", _card(uid)) == 201
    client = connect(server)
    first = _initial(client, server)
    assert _delete(server, "a.vcf") in (200, 204)
    with counted(client) as calls:
        changes = addressbook.fetch_changes(
            client, server.addressbook, token=first.token, known=_known(first)
        )
    assert calls == listing(server)
    assert changes.changed == [] and changes.deleted == [_path(server) + "a.vcf"]
    # Radicale lists the deleted card again (404) on an initial sync: not a card, not news.
    fresh = _initial(client, server)
    assert [card.href for card in fresh.changed] == [_path(server) + "b.vcf"]
    assert fresh.deleted == []


def test_an_invalid_token_falls_back_to_a_full_listing(
    server: servers.Server, connect: Connect, request: pytest.FixtureRequest
) -> None:
    # Radicale answers 403 (caldav raises), Xandikos 412; both with DAV:valid-sync-token.
    if not server.has_sync_collection:
        pytest.skip("sabre/dav 1.8 has no sync-collection and hands out no token")
    if server.kind == "sogo":
        request.applymarker(pytest.mark.xfail(strict=True, reason=SOGO_TAKES_ANY_TOKEN))
    for uid in ("a", "b", "c"):
        assert servers.put_card(server, f"{uid}.vcf", _card(uid)) == 201
    client = connect(server)
    first = _initial(client, server)
    known = _known(first)
    known[_path(server) + "gone.vcf"] = '"old"'
    assert servers.put_card(server, "d.vcf", _card("d")) == 201
    bad = "http://radicale.org/ns/sync/" + "0" * 64 if server.kind == "radicale" else "0" * 40
    with counted(client) as calls:
        changes = addressbook.fetch_changes(client, server.addressbook, token=bad, known=known)
    assert calls == ["REPORT", "REPORT", "REPORT"]  # refused, full listing, multiget of d
    assert changes.complete and changes.token
    assert [card.href for card in changes.changed] == [_path(server) + "d.vcf"]
    assert sorted(changes.unchanged) == sorted(_known(first))
    assert changes.deleted == [_path(server) + "gone.vcf"]


def test_known_etags_are_not_downloaded_again_on_a_full_listing(
    server: servers.Server, connect: Connect
) -> None:
    for uid in ("a", "b"):
        assert servers.put_card(server, f"{uid}.vcf", _card(uid)) == 201
    client = connect(server)
    first = _initial(client, server)
    with counted(client) as calls:
        again = addressbook.fetch_changes(
            client, server.addressbook, token=None, known=_known(first)
        )
    assert calls == listing(server)
    assert again.changed == [] and sorted(again.unchanged) == sorted(_known(first))


def test_hrefs_with_space_and_at_stay_in_the_servers_form(
    server: servers.Server, connect: Connect
) -> None:
    assert servers.put_card(server, "p%201@x.vcf", _card("p1")) == 201
    client = connect(server)
    first = _initial(client, server)
    (card,) = first.changed
    # Radicale writes "p%201%40x.vcf", Xandikos and sabre/dav "p%201@x.vcf", SOGo "p 1@x.vcf"
    # (unescaped, which is no URL): kept as each server wrote it.
    assert card.href in (
        _path(server) + "p%201%40x.vcf",
        _path(server) + "p%201@x.vcf",
        _path(server) + "p 1@x.vcf",
    )
    again = addressbook.fetch_changes(client, server.addressbook, token=None, known=_known(first))
    assert again.unchanged == [card.href] and again.changed == []
    new_etag = addressbook.put_card(
        client, card.href, _card("p1", note="written back"), etag=card.etag
    )
    assert new_etag
    (reread,) = addressbook.get_cards(client, server.addressbook, [card.href])
    assert reread.href == card.href and "NOTE:written back" in lines(reread.text)


# ---------------------------------------------------------------------------------------------
# The PROPFIND fallback (servers without sync-collection; both test servers have it)


def test_propfind_listing_diffs_etags(server: servers.Server, connect: Connect) -> None:
    for uid in ("a", "b", "c"):
        assert servers.put_card(server, f"{uid}.vcf", _card(uid)) == 201
    client = connect(server)
    with counted(client) as calls:
        first = addressbook.fetch_by_propfind(client, server.addressbook, known={})
    assert calls == ["PROPFIND", "REPORT"]
    assert first.complete and len(first.changed) == 3
    assert first.deleted == [] and first.unchanged == []
    # The book's DAV:sync-token comes with the listing, so the next cycle can sync (Google
    # refuses sync-collection with an empty token but wants it used after the first read);
    # sabre/dav 1.8 has no sync-collection and no token.
    assert bool(first.token) == (server.kind != "sabre")
    if first.token:
        after = addressbook.fetch_changes(client, server.addressbook, token=first.token, known={})
        assert after.changed == [] and after.deleted == [] and not after.complete
    with counted(client) as calls:
        same = addressbook.fetch_by_propfind(client, server.addressbook, known=_known(first))
    assert calls == ["PROPFIND"]
    assert same.changed == [] and sorted(same.unchanged) == sorted(_known(first))

    etag_b = _by_uid(first.changed)["b"].etag
    assert servers.put_card(server, "b.vcf", _card("b", fn="Bea"), etag=etag_b) in (200, 204)
    assert _delete(server, "c.vcf") in (200, 204)
    assert servers.put_card(server, "d.vcf", _card("d")) == 201
    changes = addressbook.fetch_by_propfind(client, server.addressbook, known=_known(first))
    assert sorted(card.href for card in changes.changed) == [
        _path(server) + "b.vcf",
        _path(server) + "d.vcf",
    ]
    assert changes.unchanged == [_path(server) + "a.vcf"]
    assert changes.deleted == [_path(server) + "c.vcf"]
    if server.kind == "xandikos":
        assert _by_uid(changes.changed)["b"].text == _card("b", fn="Bea")


# ---------------------------------------------------------------------------------------------
# get_cards and put_card


def test_get_cards_leaves_out_cards_that_are_gone(
    server: servers.Server, connect: Connect, request: pytest.FixtureRequest
) -> None:
    assert servers.put_card(server, "a.vcf", CRLF_CARD) == 201
    client = connect(server)
    with counted(client) as calls:
        cards = addressbook.get_cards(
            client, server.addressbook, [_path(server) + "a.vcf", _path(server) + "nope.vcf"]
        )
    # sabre/dav 1.8 answers 404 to a whole multiget that names a card that is gone: the
    # batch is halved down to a GET of each, which tells the gone one from the other.
    wanted = ["REPORT", "REPORT", "REPORT", "GET"] if server.kind == "sabre" else ["REPORT"]
    assert calls == wanted
    assert [card.href for card in cards] == [_path(server) + "a.vcf"]
    if server.stores_verbatim:
        assert cards[0].text == CRLF_CARD


def test_put_card_with_the_right_etag(server: servers.Server, connect: Connect) -> None:
    assert servers.put_card(server, "a.vcf", _card("a")) == 201
    client = connect(server)
    first = _initial(client, server)
    (card,) = first.changed
    text = card.text.replace(
        "END:VCARD", "NOTE:[netsync]\\nlast: 2026-11-20\\n[/netsync]\r\nEND:VCARD"
    )
    with counted(client) as calls:
        new_etag = addressbook.put_card(client, card.href, text, etag=card.etag)
    assert calls == ["PUT"]
    assert new_etag and new_etag != card.etag
    # Our own write, with the ETag the PUT returned, is not downloaded again.
    with counted(client) as calls:
        echo = addressbook.fetch_changes(
            client, server.addressbook, token=first.token, known={card.href: new_etag}
        )
    assert calls == listing(server) and echo.changed == [] and echo.unchanged == [card.href]
    (reread,) = addressbook.get_cards(client, server.addressbook, [card.href])
    assert reread.etag == new_etag
    assert "last: 2026-11-20" in reread.text
    if server.stores_verbatim:
        assert reread.text == text


def test_put_card_is_byte_exact_on_xandikos(xandikos: servers.Server, connect: Connect) -> None:
    assert servers.put_card(xandikos, "m.vcf", MIXED_CARD) == 201
    client = connect(xandikos)
    (card,) = _initial(client, xandikos).changed
    assert card.text == MIXED_CARD
    text = card.text.replace("FN:Max Mixed\n", "FN:Max Mixed\nNOTE:hi\n")
    assert addressbook.put_card(client, card.href, text, etag=card.etag)
    (reread,) = addressbook.get_cards(client, xandikos.addressbook, [card.href])
    assert reread.text == text  # caldav would have sent every LF as CRLF


def test_a_stale_etag_is_a_conflict(server: servers.Server, connect: Connect) -> None:
    assert servers.put_card(server, "a.vcf", _card("a")) == 201
    client = connect(server)
    (card,) = _initial(client, server).changed
    assert servers.put_card(server, "a.vcf", _card("a", fn="Phone Edit"), etag=card.etag) in (
        200,
        204,
    )
    with pytest.raises(Conflict) as caught:
        addressbook.put_card(client, card.href, _card("a", note="ours"), etag=card.etag)
    assert caught.value.href == card.href
    (current,) = addressbook.get_cards(client, server.addressbook, [card.href])
    assert "FN:Phone Edit" in lines(current.text)  # the phone's edit survived


def test_an_invalid_card_is_rejected_not_a_conflict(
    server: servers.Server, connect: Connect, request: pytest.FixtureRequest
) -> None:
    if server.kind == "sogo":
        request.applymarker(
            pytest.mark.xfail(
                strict=True, reason="SOGo 5.8 stores a card with a line that is no property"
            )
        )
    assert servers.put_card(server, "a.vcf", _card("a")) == 201
    client = connect(server)
    (card,) = _initial(client, server).changed
    broken = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:a\r\nFN:A\r\nsecret note without colon\r\nEND:VCARD\r\n"
    )
    with pytest.raises(Rejected) as caught:
        addressbook.put_card(client, card.href, broken, etag=card.etag)
    # Xandikos: 412 with CARDDAV:valid-address-data; Radicale: 400; sabre/dav: 415.
    assert caught.value.status == {"xandikos": 412, "sabre": 415}.get(server.kind, 400)
    assert "secret note" not in str(caught.value)  # the card's text never reaches a log


# ---------------------------------------------------------------------------------------------
# What the servers cannot show: scripted replies for the XML corners


class _Scripted:
    """A stand-in for DAVClient that answers from a list of (status, body) pairs."""

    url = "http://dav.example/"
    username = ""

    def __init__(self, replies: list[tuple[int, bytes]]) -> None:
        self.replies = replies
        self.sent: list[tuple[str, str]] = []

    def request(self, url: str, method: str, body: Any, headers: Any) -> DAVResponse:
        self.sent.append((method, str(body)))
        status, data = self.replies.pop(0)
        return DAVResponse.from_bytes(data, status_code=status)


def _multistatus(*responses: str, token: str = "") -> bytes:
    tail = f"<d:sync-token>{token}</d:sync-token>" if token else ""
    return (
        '<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:carddav">'
        + "".join(responses)
        + tail
        + "</d:multistatus>"
    ).encode()


def _listed(href: str, etag: str) -> str:
    return (
        f"<d:response><d:href>{href}</d:href><d:propstat><d:prop><d:getetag>{etag}</d:getetag>"
        "</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>"
    )


def _with_data(href: str, etag: str, data: str) -> str:
    return (
        f"<d:response><d:href>{href}</d:href><d:propstat><d:prop><d:getetag>{etag}</d:getetag>"
        f"<c:address-data>{data}</c:address-data></d:prop>"
        "<d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>"
    )


def test_a_truncated_sync_reply_is_followed_with_the_new_token() -> None:
    marker = (
        "<d:response><d:href>/book/</d:href>"
        "<d:status>HTTP/1.1 507 Insufficient Storage</d:status></d:response>"
    )
    client = _Scripted(
        [
            (207, _multistatus(_listed("/book/a.vcf", '"1"'), marker, token="t1")),
            (207, _multistatus(_listed("/book/b.vcf", '"2"'), token="t2")),
            (
                207,
                _multistatus(
                    _with_data("/book/a.vcf", '"1"', "BEGIN:VCARD&#13;\nUID:a&#13;\nEND:VCARD"),
                    _with_data("/book/b.vcf", '"2"', "<![CDATA[BEGIN:VCARD\r\nUID:<b>\r\n]]>"),
                ),
            ),
        ]
    )
    changes = addressbook.fetch_changes(client, "http://dav.example/book/", token="", known={})
    assert [method for method, _ in client.sent] == ["REPORT", "REPORT", "REPORT"]
    assert "<d:sync-token>t1</d:sync-token>" in client.sent[1][1]
    assert "<d:limit>" not in "".join(body for _, body in client.sent)
    assert changes.token == "t2" and changes.complete
    # No niquests session here, so no raw bytes: &#13; survives the XML parse, and text
    # without any CR is taken as CRLF (RFC 6350).
    assert {card.href: card.text for card in changes.changed} == {
        "/book/a.vcf": "BEGIN:VCARD\r\nUID:a\r\nEND:VCARD",
        "/book/b.vcf": "BEGIN:VCARD\r\nUID:<b>\r\n",
    }


def test_a_server_without_sync_collection_gets_the_propfind_listing() -> None:
    client = _Scripted(
        [
            (501, b"Not Implemented"),
            (207, _multistatus(_listed("/book/a.vcf", '"1"'), _listed("/book/b.vcf", '"2"'))),
            (207, _multistatus(_with_data("/book/b.vcf", '"2"', "BEGIN:VCARD\nEND:VCARD\n"))),
        ]
    )
    changes = addressbook.fetch_changes(
        client, "http://dav.example/book/", token="", known={"/book/a.vcf": '"1"'}
    )
    assert [method for method, _ in client.sent] == ["REPORT", "PROPFIND", "REPORT"]
    assert changes.token is None and changes.complete
    assert changes.unchanged == ["/book/a.vcf"]
    assert [(c.href, c.text) for c in changes.changed] == [
        ("/book/b.vcf", "BEGIN:VCARD\r\nEND:VCARD\r\n")  # no raw bytes: CRLF per RFC 6350
    ]


def test_exact_texts_keep_literal_crs() -> None:
    body = (
        b'<?xml version="1.0"?>\r\n<m:multistatus xmlns:m="DAV:" xmlns:C="urn:ietf:params:xml:'
        b'ns:carddav"><C:address-data\r\n content-type="text/vcard">A\r\nB\nC&amp;&#x41;'
        b"<![CDATA[<x>\r\n]]></C:address-data><C:address-data /></m:multistatus>"
    )
    assert addressbook._exact_texts(body) == ["A\r\nB\nC&A<x>\r\n", ""]
    assert addressbook._exact_texts(b"<a:address-data>x<!-- c --></a:address-data>") is None
