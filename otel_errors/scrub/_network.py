"""IP address recognisers. The regexes find candidates; the functions here decide whether a candidate is an
address or something that merely looks like one (version strings, times, C++ `a::b`, Python slices `x[1::2]`)."""

from __future__ import annotations

import ipaddress
import re

# Four dotted octets, each 0-255 without leading zeros; not glued to a word, another dot-number (`1.2.3.4.5`,
# a 5-part version) or a letter (`v1.2.3.4`). A trailing sentence dot is fine.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4 = re.compile(rf"(?<![\w.]){_OCTET}(?:\.{_OCTET}){{3}}(?!\w|\.[0-9])", re.ASCII)

# Anything made of hex groups and at least two colons, optionally ending in an embedded IPv4 address. The
# look-ahead wants what `ipv6_plausible` will want, a digit or eight groups: text full of `::` or `:a:b` (C++,
# slices, times) then proposes no candidate at all instead of one call of the plausibility check per `::`.
# (Candidates start only after a character they cannot contain, so each run of hex and colons is read once.)
IPV6_CANDIDATE = re.compile(
    r"(?<![\w:.])(?=[0-9A-Fa-f:]*?[0-9]|(?:[0-9A-Fa-f]{0,4}:){7})"
    r"(?:[0-9A-Fa-f]{1,4})?(?::[0-9A-Fa-f]{0,4}){2,7}(?:(?<=:)[0-9]{1,3}(?:\.[0-9]{1,3}){3})?"
    r"(?![\w:]|\.[0-9])",
    re.ASCII,
)


def ipv6_plausible(candidate: str) -> bool:
    """True for strings a human would call an IPv6 address.

    Valid syntax is not enough: `a::b` (Python slice/C++ scope with hex-looking names) and `1::2` parse as IPv6.
    A compressed address (`::`) must therefore contain a digit and a full 4-digit group (fe80::1, 2001:db8::,
    ::ffff:10.0.0.1) or be the loopback `::1`; an uncompressed one needs all 8 groups, which rules out times
    (12:30:45) and MAC addresses (6 groups).
    """
    # The shape first (cheap), then the syntax: text can hold thousands of candidates.
    if "::" not in candidate:
        plausible = candidate.count(":") >= 6  # 8 groups (or 6 + IPv4) written out: nothing else has that shape
    elif candidate == "::1":
        plausible = True
    else:
        groups = [g for g in candidate.split(":") if g]
        has_digit = any(ch.isdigit() for ch in candidate)
        plausible = has_digit and any(len(g) == 4 or "." in g for g in groups)
    if not plausible:
        return False
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return True
