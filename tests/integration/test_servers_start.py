"""The test servers themselves start and answer as the other tests expect."""

import servers


def test_server_answers_and_has_an_address_book(server: servers.Server) -> None:
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:t1\r\nFN:T One\r\nN:One;T;;;\r\nEND:VCARD\r\n"
    assert servers.put_card(server, "t1.vcf", card) == 201
    assert servers.put_card(server, "t1.vcf", card) == 412  # If-None-Match: * on an existing card
