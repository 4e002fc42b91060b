"""Grouping quality against labeled sets: B-cubed, pairwise F1, adjusted Rand index, groups made.

A labeled set is JSON Lines with `stacktrace`, `group` (the true label) and optionally `exception`/`type` and
`message`. Every trace is scored, singletons included.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._compute import compute_grouping
from ._configs import DEFAULT_CONFIG
from ._model import ExceptionInput, GroupingConfig
from ._seed import seed_fingerprint

Fingerprinter = Callable[[dict[str, Any]], str]


@dataclass(frozen=True, slots=True)
class Scores:
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float
    pairwise_precision: float
    pairwise_recall: float
    pairwise_f1: float
    adjusted_rand: float
    groups_made: int
    groups_true: int
    items: int


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def score(truth: Sequence[str], predicted: Sequence[str]) -> Scores:
    """Score a predicted clustering against the true one (both: one label per item, same order)."""
    n = len(truth)
    true_sizes = Counter(truth)
    pred_sizes = Counter(predicted)
    joint = Counter(zip(truth, predicted, strict=True))
    precision = sum(c * c / pred_sizes[p] for (_, p), c in joint.items()) / n if n else 0.0
    recall = sum(c * c / true_sizes[t] for (t, _), c in joint.items()) / n if n else 0.0
    same_both = sum(_pairs(c) for c in joint.values())
    same_pred = sum(_pairs(c) for c in pred_sizes.values())
    same_true = sum(_pairs(c) for c in true_sizes.values())
    pair_p = same_both / same_pred if same_pred else 1.0
    pair_r = same_both / same_true if same_true else 1.0
    total = _pairs(n)
    expected = same_pred * same_true / total if total else 0.0
    maximum = (same_pred + same_true) / 2
    ari = (same_both - expected) / (maximum - expected) if maximum != expected else 0.0
    return Scores(
        precision,
        recall,
        _f1(precision, recall),
        pair_p,
        pair_r,
        _f1(pair_p, pair_r),
        ari,
        len(pred_sizes),
        len(true_sizes),
        n,
    )


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def load_rows(paths: Iterable[str | Path]) -> dict[str, list[dict[str, Any]]]:
    """Rows per labeled set: a file is one set; a folder contributes each `*.jsonl` below it as a set."""
    sets: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for raw in paths:
        path = Path(raw)
        files = sorted(path.rglob("*.jsonl")) if path.is_dir() else [path]
        for file in files:
            name = str(file.parent.name if file.name == "traces.jsonl" else file.stem)
            with file.open(encoding="utf-8") as handle:
                for line in handle:
                    if line.strip():
                        row = json.loads(line)
                        if isinstance(row, dict) and "group" in row:
                            sets[name].append(row)
    return dict(sets)


def row_input(row: dict[str, Any]) -> ExceptionInput:
    """A labeled row as the processor would see it: type, message (the first line after `type: `), text."""
    stacktrace = str(row.get("stacktrace") or "")
    exc_type = str(row.get("type") or row.get("exception") or "")
    message = str(row.get("message") or "")
    if not message and exc_type and stacktrace.startswith(exc_type + ":"):
        message = stacktrace.split("\n", 1)[0][len(exc_type) + 1 :].strip()
    return ExceptionInput(type=exc_type, message=message, stacktrace=stacktrace, attributes=row.get("attributes") or {})


def ours(config: GroupingConfig = DEFAULT_CONFIG) -> Fingerprinter:
    return lambda row: compute_grouping(row_input(row), config).fingerprint


def seed(row: dict[str, Any]) -> str:
    exc = row_input(row)
    return seed_fingerprint(exc.type, exc.stacktrace)


def evaluate(rows: Sequence[dict[str, Any]], fingerprint: Fingerprinter) -> Scores:
    return score([str(r["group"]) for r in rows], [fingerprint(r) for r in rows])
