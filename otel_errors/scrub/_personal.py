"""Personal numbers: US social security numbers and phone numbers in international (E.164) form."""

from __future__ import annotations

import re

# `ddd-dd-dddd` without the numbers the SSA never issues: area 000, 666 or 900-999, group 00, serial 0000.
# Not glued to a word or to another dash-number (`1-123-45-6789`, `123-45-6789-0`).
SSN = re.compile(r"(?<![\w-])(?!000|666|9)[0-9]{3}-(?!00)[0-9]{2}-(?!0000)[0-9]{4}(?![\w-])", re.ASCII)
SSN_GATE = (rb"-00-0000(?<=000-00-0000)",)

# `+` and a country code, 8-15 digits in all (E.164), optionally grouped by single spaces or dashes as printed
# (`+1 415 555 2671`, `+44 20-7946-0958`). Not after a word or another `+` (`1.2.3+20240101`, `++`), not followed
# by more digits (a longer number is not a phone number), a word or a `+` (`+10000000+10000000` is no list of
# phone numbers: scrubbing the first would turn the second into one, one pass later), no leading zero (`+0200`).
PHONE = re.compile(r"(?<![\w+])\+[1-9](?:[ -]?[0-9]){7,14}(?![ -]?[0-9]|[\w+])", re.ASCII)
PHONE_GATE = (rb"\+0(?:[ \-]?0){7}",)
