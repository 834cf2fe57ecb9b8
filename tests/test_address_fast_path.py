"""The ASCII fast path for addresses gives email-validator's verdict, never a different one."""

from __future__ import annotations

from email.utils import getaddresses

import email_validator
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from draft_feedback.addresses import (
    _SPECIAL_USE,
    _plain_addr,
    _validator_check,
    check_addr,
    parse_address,
)

ATEXT = "abcxyzABZ0189!#$%&'*+/=?^_`{|}~-"
label = st.text(alphabet="abcxyzAZ0189-", min_size=1, max_size=70)
domain = st.lists(label, min_size=1, max_size=4).map(".".join) | st.sampled_from(
    ["example.com", "EXAMPLE.org", "mail.example.co.uk", "x.test", "a.local", "b.onion",
     "xn--bcher-kva.example", "ab--cd.example", "1.2.3.4", "example.c0m", "example.c",
     "bücher.example", "a..b.com", "-a.com", "a-.com"])
local = st.text(alphabet=ATEXT + '."\\ ()<>@,;:é', min_size=1, max_size=70)
address = st.builds(lambda lo, do: f"{lo}@{do}", local, domain) | st.text(max_size=40)


@settings(max_examples=600, deadline=None)
@given(address)
@example("priya@example.com")
@example("Priya.Shah+jobs@Example.COM")
@example("a" * 64 + "@example.com")
@example("a" * 65 + "@example.com")
@example("x@" + "a" * 63 + ".com")
@example("x@" + "a" * 64 + ".com")
@example("x@" + ".".join(["a" * 60] * 4) + ".com")
@example("a@b.invalid")
@example("a.@example.com")
@example(".a@example.com")
def test_fast_path_agrees_with_email_validator(addr: str) -> None:
    plain = _plain_addr(addr)
    if plain is not None:
        assert _validator_check(addr) == (plain, "")


@pytest.mark.parametrize("addr", ["priya@example.com", "a.b-c+d@sub.example.co.uk",
                                  "O'Brien@example.ie", "x_y@EXAMPLE.NET"])
def test_ordinary_addresses_take_the_fast_path(addr: str) -> None:
    assert _plain_addr(addr) is not None
    assert check_addr(addr) == _validator_check(addr)


@pytest.mark.parametrize("addr", ["a@x.test", "a@xn--bcher-kva.example", "a..b@example.com",
                                  "zoë@example.com", "a@example", "a@[127.0.0.1]",
                                  '"a b"@example.com'])
def test_unusual_addresses_go_to_email_validator(addr: str) -> None:
    assert _plain_addr(addr) is None


def test_special_use_domains_are_email_validators() -> None:
    assert set(_SPECIAL_USE) == set(email_validator.SPECIAL_USE_DOMAIN_NAMES)


name = st.text(alphabet=ATEXT + " ", max_size=30)


@settings(max_examples=300, deadline=None)
@given(name, st.builds(lambda lo, do: f"{lo}@{do}", st.text(alphabet=ATEXT, min_size=1,
                                                            max_size=20),
                       st.sampled_from(["example.com", "mail.example.org"])))
def test_a_plain_name_and_address_read_the_same_by_the_standard_reader(name: str,
                                                                        addr: str) -> None:
    value = f"{name} <{addr}>" if name.strip() else addr
    parsed = parse_address(value)
    # The second opinion the fast path skips would have agreed.
    assert [a for _, a in getaddresses([value])] == [addr]
    assert parsed.email == _validator_check(addr)[0]
