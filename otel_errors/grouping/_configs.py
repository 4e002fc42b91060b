"""Registered grouping configs. A stored fingerprint records its config id; during an upgrade the store can
compute both the new default and the previous config to keep matching existing issues."""

from __future__ import annotations

from types import MappingProxyType

from ._model import GroupingConfig

#: The seed's algorithm (type + first 500 characters of the trace), for issues fingerprinted before v1.
SEED_CONFIG = GroupingConfig(config_id="v0")
#: Parsed frames, in-app selection, chains, message fallback and the shared-call-site rule.
V1_CONFIG = GroupingConfig(config_id="v1")

DEFAULT_CONFIG = V1_CONFIG
CONFIGS: MappingProxyType[str, GroupingConfig] = MappingProxyType({c.config_id: c for c in (SEED_CONFIG, V1_CONFIG)})
