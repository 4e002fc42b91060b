"""`otel-errors fingerprint` and `otel-errors eval-grouping`: the grouping engine for tools and for measuring it.

The lead wires `add_commands` into cli/main.py's sub-parsers.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from otel_errors.grouping import CONFIGS, DEFAULT_CONFIG, ExceptionInput, compute_grouping
from otel_errors.grouping._evaluate import Scores, evaluate, load_rows, ours, seed


def add_commands(subparsers: Any) -> None:
    """Register `fingerprint` and `eval-grouping` on an argparse sub-parsers object."""
    fp = subparsers.add_parser(
        "fingerprint",
        help="fingerprint exceptions: JSON Lines on stdin -> one JSON line per input on stdout",
        description='Each input line: {"type", "message", "stacktrace", "attributes"} (all optional). '
        'Each output line: {"fingerprint", "title", "culprit"}, or {"error"} for a bad line.',
    )
    fp.add_argument(
        "--config",
        default=DEFAULT_CONFIG.config_id,
        choices=sorted(CONFIGS),
        help="grouping config id (default: %(default)s)",
    )
    fp.add_argument("--explain", action="store_true", help="also write the config id and the component tree")
    fp.set_defaults(func=run_fingerprint)

    ev = subparsers.add_parser(
        "eval-grouping",
        help="score grouping against labeled sets (B-cubed, pairwise F1, ARI), ours beside the seed's",
    )
    ev.add_argument("paths", nargs="+", help="traces.jsonl files or folders holding them")
    ev.add_argument("--json", action="store_true", help="write the scores as JSON instead of a table")
    ev.set_defaults(func=run_eval)


def run_fingerprint(args: argparse.Namespace, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    source, sink = stdin or sys.stdin, stdout or sys.stdout
    config = CONFIGS[getattr(args, "config", DEFAULT_CONFIG.config_id)]
    explain = bool(getattr(args, "explain", False))
    for line in source:
        if not line.strip():
            continue
        sink.write(json.dumps(_fingerprint_line(line, config, explain), ensure_ascii=False) + "\n")
    sink.flush()
    return 0


def _fingerprint_line(line: str, config: Any, explain: bool) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except ValueError as error:
        return {"error": f"invalid JSON: {error}"}
    if not isinstance(row, dict):
        return {"error": "each line must be a JSON object"}
    attributes = row.get("attributes")
    exc = ExceptionInput(
        type=_text(row.get("type")),
        message=_text(row.get("message")),
        stacktrace=_text(row.get("stacktrace")),
        attributes=attributes if isinstance(attributes, dict) else {},
    )
    result = compute_grouping(exc, config)
    out: dict[str, Any] = {"fingerprint": result.fingerprint, "title": result.title, "culprit": result.culprit}
    if explain:
        out["config_id"] = result.config_id
        out["component"] = result.component.to_dict() if result.component else None
    return out


def _text(value: Any) -> str:
    return "" if value is None else value if isinstance(value, str) else json.dumps(value)


_COLUMNS = ("B3 P", "B3 R", "B3 F1", "pair F1", "ARI", "groups / true")


def run_eval(args: argparse.Namespace, stdout: TextIO | None = None) -> int:
    sink = stdout or sys.stdout
    try:
        sets = load_rows(args.paths)
    except (OSError, ValueError) as error:
        print(f"eval-grouping: {error}", file=sys.stderr)
        return 2
    if not sets:
        print("eval-grouping: no labeled rows (JSON Lines with a `group` field) found", file=sys.stderr)
        return 2
    results = {name: {"ours": evaluate(rows, ours()), "seed": evaluate(rows, seed)} for name, rows in sets.items()}
    if getattr(args, "json", False):
        sink.write(json.dumps({n: {k: _as_dict(s) for k, s in r.items()} for n, r in results.items()}, indent=2) + "\n")
        return 0
    sink.write(f"| set | fingerprint | {' | '.join(_COLUMNS)} |\n|---|---|{'---|' * len(_COLUMNS)}\n")
    for name, by_algorithm in results.items():
        for label, s in by_algorithm.items():
            algorithm = f"{label} ({DEFAULT_CONFIG.config_id})" if label == "ours" else "seed (v0)"
            sink.write(
                f"| {name} | {algorithm} | {s.bcubed_precision:.3f} | {s.bcubed_recall:.3f} | {s.bcubed_f1:.3f} | "
                f"{s.pairwise_f1:.3f} | {s.adjusted_rand:.3f} | {s.groups_made} / {s.groups_true} |\n"
            )
    return 0


def _as_dict(s: Scores) -> dict[str, float | int]:
    return {
        "bcubed_precision": s.bcubed_precision,
        "bcubed_recall": s.bcubed_recall,
        "bcubed_f1": s.bcubed_f1,
        "pairwise_precision": s.pairwise_precision,
        "pairwise_recall": s.pairwise_recall,
        "pairwise_f1": s.pairwise_f1,
        "adjusted_rand": s.adjusted_rand,
        "groups_made": s.groups_made,
        "groups_true": s.groups_true,
        "items": s.items,
    }
