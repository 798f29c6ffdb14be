import ipaddress

import pytest

from crawler.fetch.netguard import BlockedAddressError, check_address, non_public_reason, parse_ip


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        # (tests name no IPv4 private-range or link-local address, by project rule;
        # the IPv6 equivalents go through the same checks)
        ("fe80::1", "link-local"),
        ("fd00::1", "private"),
        ("0.0.0.0", "unspecified"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped IPv6
        ("100.64.0.1", "non-global"),  # carrier-grade NAT
        ("224.0.0.1", "multicast"),
    ],
)
def test_non_public_addresses_are_named(address, reason):
    assert non_public_reason(address) == reason
    with pytest.raises(BlockedAddressError, match=reason):
        check_address("host.example", address)


def test_parse_ip():
    assert parse_ip("[::1]") == ipaddress.ip_address("::1")
    assert parse_ip("127.0.0.1") == ipaddress.ip_address("127.0.0.1")
    assert parse_ip("localhost") is None


def test_message_names_host_and_address():
    with pytest.raises(BlockedAddressError, match=r"localhost \(127\.0\.0\.1\) is loopback"):
        check_address("localhost", "127.0.0.1")
    with pytest.raises(BlockedAddressError, match=r"refused: \[fd00::1\] is private"):
        check_address("[fd00::1]", "fd00::1")
