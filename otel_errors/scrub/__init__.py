"""PII and secret scrubbing for everything otel-errors stores (docs/pii.md).

    from otel_errors.scrub import Scrubber, ScrubConfig
    s = Scrubber(ScrubConfig())
    s.text("mail bob@example.com from 10.1.2.3")      # "mail [email] from [ip]"
    s.attributes({"password": "x", "user.id": "u1"})   # {"password": "[redacted]", "user.id": "u1"}

Rules, replacements and limits are documented in docs/pii.md.
"""

from ._attributes import CUT_MARGIN
from ._config import ScrubConfig
from ._keys import DEFAULT_SENSITIVE_KEYS
from ._rules import builtin_rule_names
from ._scrubber import Scrubber

__all__ = ["CUT_MARGIN", "DEFAULT_SENSITIVE_KEYS", "ScrubConfig", "Scrubber", "builtin_rule_names"]
