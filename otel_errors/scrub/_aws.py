"""AWS secret access keys: 40 base64 characters, recognised only where AWS credentials are printed.

A 40-character base64 string alone is too common (hashes, ids, encoded blobs) to be called a secret. It is one
when it follows, on the same line and within 80 characters, an access key id (`AKIA...`/`ASIA...`: credential
files, `aws configure list`, reprs of credential objects), or when it is the value of a key that starts with
`aws` (`aws_secret_access_key=...`, `"AwsSecretKey": "..."`). The key itself must look random: upper- and
lower-case letters and a digit, `/` or `+`, which rules out hex digests (SHA-1 is 40 hex characters).
"""

from __future__ import annotations

import re

_KEY_CHARS = r"[A-Za-z0-9/+]"
_SECRET = (
    rf"(?<!{_KEY_CHARS})"
    rf"(?={_KEY_CHARS}{{0,39}}[A-Z])(?={_KEY_CHARS}{{0,39}}[a-z])(?={_KEY_CHARS}{{0,39}}[0-9/+])"
    rf"{_KEY_CHARS}{{40}}(?![A-Za-z0-9/+=])"
)
AWS_SECRET = re.compile(
    r"(?=[Aa])(?P<head>"  # both forms start with an A: most positions fail there at once
    # an access key id, then up to 80 characters of the same line
    r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])[^\n]{1,80}?"
    # or a key starting with `aws` (at most 40 more key characters), optionally quoted, `=` or `:`
    r"|(?<![A-Za-z0-9])(?i:aws)[\w.\-]{0,40}+\\?[\"']?[ \t]*+[:=][ \t]*+\\?[\"']?"
    rf"){_SECRET}",
    re.ASCII,
)
REPLACEMENT = r"\g<head>[aws_secret]"
GATE = (rb"akia", rb"asia", rb"aws[\w.\-]{0,40}+\\?[\"']?[ \t]*+[:=]")
