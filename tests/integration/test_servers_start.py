"""The test servers themselves start and answer as the other tests expect.

What the other tests take from ``Server`` (stores_verbatim, has_sync_collection,
honours_if_none_match) is checked here against each real server, so that a server that changes
with a new Debian release fails here first, with the reason.
"""

from tests import davcheck, servers
from tests.vcards import vcard

CARD = vcard("t1", "T One", n="One;T;;;")
LF_CARD = vcard("t2", "T Two", note="a\\, b", eol="\n")

REPORTS = b"""<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:supported-report-set/></d:prop></d:propfind>"""


def test_server_answers_and_has_an_address_book(server: servers.Server) -> None:
    assert servers.put_card(server, "t1.vcf", CARD) == 201
    again = servers.put_card(server, "t1.vcf", CARD.replace("T One", "T Again"))
    # If-None-Match: * on an existing card. SOGo 5.8 ignores the header and overwrites.
    assert again == (412 if server.honours_if_none_match else 204)


def test_what_each_server_does_with_bytes_and_sync(server: servers.Server) -> None:
    assert servers.put_card(server, "t2.vcf", LF_CARD) == 201
    served = davcheck.get(server, server.addressbook + "t2.vcf").decode()
    assert (served == LF_CARD) == server.stores_verbatim, served

    status, _, body = davcheck.request(
        server,
        "PROPFIND",
        server.addressbook,
        body=REPORTS,
        headers={"Depth": "0", "Content-Type": "application/xml; charset=utf-8"},
    )
    assert status == 207
    assert (b"sync-collection" in body) == server.has_sync_collection, body[:2000]
