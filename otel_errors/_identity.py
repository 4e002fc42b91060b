"""Who an occurrence or execution belongs to: user, agent, environment, version, service.

Identity fields are stored as sent, on purpose: impact (users and agents affected) counts them. With
`hash_user_ids` on, user ids are stored as a keyed hash instead (docs/pii.md, "Identity fields").
"""

from __future__ import annotations

import hashlib
import hmac

from ._otlp import AttrValue, first_str

USER_KEYS = ("user.id", "enduser.id")
AGENT_ID_KEYS = ("gen_ai.agent.id",)
AGENT_NAME_KEYS = ("gen_ai.agent.name",)
SERVICE_KEYS = ("service.name",)
ENVIRONMENT_KEYS = ("deployment.environment.name", "deployment.environment")
VERSION_KEYS = ("service.version",)

ResourceIdentity = tuple[str, str, str, str, str, str]


class ResourceIdentities:
    """User, agent id, agent name, environment, version and service of a resource's attributes: computed once per
    resource of an export (every span of it shares the dict). Cleared per export: it holds that export's dicts."""

    __slots__ = ("_found",)

    def __init__(self) -> None:
        self._found: dict[int, tuple[dict[str, AttrValue], ResourceIdentity]] = {}

    def clear(self) -> None:
        self._found.clear()

    def of(self, resource: dict[str, AttrValue]) -> ResourceIdentity:
        cached = self._found.get(id(resource))
        if cached is not None and cached[0] is resource:  # the entry holds the dict: its id is not reused
            return cached[1]
        found = (
            first_str(USER_KEYS, resource),
            first_str(AGENT_ID_KEYS, resource),
            first_str(AGENT_NAME_KEYS, resource),
            first_str(ENVIRONMENT_KEYS, resource),
            first_str(VERSION_KEYS, resource),
            first_str(SERVICE_KEYS, resource),
        )
        if len(self._found) >= 64:
            self._found.clear()
        self._found[id(resource)] = (resource, found)
        return found


class UserIdHasher:
    """`h:` + 32 hex digits of HMAC-SHA256(key, workspace NUL user id): the same user counts as one user, the id
    itself is not stored. The key (a setting) keeps ids from being guessed by hashing candidates; the workspace in
    the message keeps two workspaces' hashes of one id apart. Memoized per (workspace, user id), bounded."""

    __slots__ = ("_key", "_memo")

    PREFIX = "h:"
    _MEMO = 65_536

    def __init__(self, key: str) -> None:
        self._key = key.encode("utf-8")
        self._memo: dict[tuple[str, str], str] = {}

    def __call__(self, workspace: str, user_id: str) -> str:
        if not user_id:
            return user_id
        memo_key = (workspace, user_id)
        hashed = self._memo.get(memo_key)
        if hashed is None:
            message = workspace.encode("utf-8") + b"\x00" + user_id.encode("utf-8", "surrogatepass")
            hashed = self.PREFIX + hmac.new(self._key, message, hashlib.sha256).hexdigest()[:32]
            if len(self._memo) >= self._MEMO:
                self._memo.clear()
            self._memo[memo_key] = hashed
        return hashed
