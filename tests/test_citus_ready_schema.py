"""The migrated schema can move to Citus (distributed PostgreSQL) as it is: checked on the real catalog.

Every table is either distributed by `workspace_id` (every primary key and unique index includes it, foreign keys
between such tables include it, no sequence Citus refuses) or a reference table with its reason, and
`exporter/citus.sql` places each exactly once. Later migrations may run on a database that is already
distributed, so they must not use statements Citus refuses on distributed tables. Against a Citus coordinator
(OTEL_ERRORS_TEST_DATABASE_URL) the last test also checks that the tables were placed as listed.
docs/citus.md has the cluster run.
"""

from __future__ import annotations

import re
from collections import Counter

import psycopg
import pytest

from otel_errors.exporter import citus
from otel_errors.exporter._migrate import migrations

# The last migration written before the schema was placed on Citus: a database distributed since then has run
# none of the later ones, so those must run on distributed tables.
CITUS_BASELINE = 13

# Triggers on distributed tables run on the workers' shards without the distributed view: only these, which read
# nothing (citus.py sets citus.enable_unsafe_triggers for them).
ALLOWED_TRIGGERS = {("audit_log", "audit_log_no_update_or_delete"), ("audit_log", "audit_log_no_truncate")}

# Statements Citus v13 refuses on a distributed table, as a migration would write them (matched per statement,
# case-insensitive), from the checks Citus v13 makes before it propagates ALTER TABLE to the shards.
REFUSED = {
    "a serial or identity column added to an existing table (refused once metadata is synced to the workers)": (
        r"\bALTER\s+TABLE\b.*\bADD\s+(COLUMN\s+)?\w+\s+(small|big)?serial[248]?\b"
        r"|\bALTER\s+TABLE\b.*\bADD\b.*\b(GENERATED\s+\w+\s+(BY\s+DEFAULT\s+)?AS\s+IDENTITY|nextval\s*\()"
    ),
    "a change to the distribution column": r"\bALTER\s+TABLE\b.*\b(ALTER|DROP|RENAME)\s+(COLUMN\s+)?workspace_id\b",
    "ENABLE/DISABLE TRIGGER (needs citus.enable_unsafe_triggers)": (
        r"\b(ENABLE|DISABLE)\s+(ALWAYS\s+|REPLICA\s+)?TRIGGER\b"
    ),
    "DETACH PARTITION CONCURRENTLY or FINALIZE": r"\bDETACH\s+PARTITION\b.*\b(CONCURRENTLY|FINALIZE)\b",
    "SET ACCESS METHOD": r"\bSET\s+ACCESS\s+METHOD\b",
    "CLUSTER VERBOSE": r"\bCLUSTER\s+VERBOSE\b",
}

TABLES = """
SELECT c.relname, c.relkind, c.relpersistence FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition
"""

COLUMNS = """
SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity,
       coalesce(pg_get_expr(d.adbin, d.adrelid), '')
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND a.attnum > 0 AND NOT a.attisdropped
"""

# Unique and exclusion indexes (primary keys and unique constraints have one) with their key columns.
UNIQUE_INDEXES = """
SELECT t.relname, i.relname,
       array(SELECT a.attname FROM unnest(x.indkey[0:x.indnkeyatts - 1]) k(attnum)
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum)::text[]
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = current_schema() AND (x.indisunique OR x.indisexclusion) AND NOT t.relispartition
"""

FOREIGN_KEYS = """
SELECT c.conname, s.relname, r.relname,
       array(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(attnum, i)
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum ORDER BY k.i)::text[],
       array(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(attnum, i)
             JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum ORDER BY k.i)::text[]
FROM pg_constraint c JOIN pg_class s ON s.oid = c.conrelid JOIN pg_class r ON r.oid = c.confrelid
JOIN pg_namespace n ON n.oid = s.relnamespace
WHERE n.nspname = current_schema() AND c.contype = 'f' AND NOT s.relispartition
"""

TRIGGERS = """
SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND NOT t.tgisinternal AND NOT c.relispartition
"""


def _catalog(url: str, query: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


@pytest.fixture(scope="module")
def placed() -> dict[str, citus.Placement]:
    found = citus.placements()
    twice = [name for name, n in Counter(p.table for p in found).items() if n > 1]
    assert not twice, f"placed more than once in citus.sql: {twice}"
    return {p.table: p for p in found}


def test_citus_sql_places_every_table_of_the_schema_once(migrated: str, placed: dict[str, citus.Placement]) -> None:
    tables = {str(name) for name, _, _ in _catalog(migrated, TABLES)}
    assert tables - placed.keys() == set(), "tables missing from exporter/citus.sql (distribute or reference them)"
    assert placed.keys() - tables == set(), "exporter/citus.sql places tables no migration creates"


def test_reference_tables_say_why_and_distributed_ones_are_colocated_by_workspace(
    placed: dict[str, citus.Placement],
) -> None:
    order = list(placed)
    anchors = [p.table for p in placed.values() if not p.reference and p.colocate_with == "none"]
    assert len(anchors) == 1, f"one distributed table starts the colocation group, not {anchors}"
    for p in placed.values():
        if p.reference:
            assert p.reason, f"reference table {p.table} must say why it is not distributed by workspace"
            continue
        assert p.column == "workspace_id", p.table
        if p.table != anchors[0]:
            assert p.colocate_with == anchors[0], f"{p.table} must be colocated with {anchors[0]}"
            assert order.index(p.table) > order.index(anchors[0]), f"{p.table} is placed before its group exists"


def test_distributed_tables_lead_with_a_workspace_and_every_unique_key_includes_it(
    migrated: str, placed: dict[str, citus.Placement]
) -> None:
    distributed = {t for t, p in placed.items() if not p.reference}
    columns = {
        (str(t), str(col)): (str(typ), bool(notnull)) for t, col, typ, notnull, _, _ in _catalog(migrated, COLUMNS)
    }
    for table in distributed:
        assert columns.get((table, "workspace_id")) == ("text", True), f"{table}.workspace_id must be text NOT NULL"
    unique = [(str(t), str(i), list(cols)) for t, i, cols in _catalog(migrated, UNIQUE_INDEXES)]  # type: ignore[call-overload]
    assert any(t == "errors" for t, _, _ in unique), "the catalog query found no unique index: it is broken"
    bad = [(t, i, cols) for t, i, cols in unique if t in distributed and "workspace_id" not in cols]
    assert bad == [], "Citus enforces uniqueness per shard only: every unique key must include workspace_id"


def test_foreign_keys_stay_within_a_workspace_or_point_at_reference_tables(
    migrated: str, placed: dict[str, citus.Placement]
) -> None:
    for name, source, target, keys, target_keys in _catalog(migrated, FOREIGN_KEYS):
        src, dst = placed[str(source)], placed[str(target)]
        assert not (src.reference and not dst.reference), f"{name}: a reference table cannot point at a shard"
        if not src.reference and not dst.reference:
            pairs = list(zip(keys, target_keys, strict=True))  # type: ignore[call-overload]
            assert ("workspace_id", "workspace_id") in pairs, f"{name} must match on workspace_id"


def test_no_sequence_citus_refuses(migrated: str, placed: dict[str, citus.Placement]) -> None:
    """Citus v13 takes bigint serial and identity columns on a table it distributes (values stay unique across
    nodes); smallint and integer ones only from the coordinator, and it refuses adding any to a distributed table."""
    sequenced = [
        (str(t), str(col), str(typ))
        for t, col, typ, _, identity, default in _catalog(migrated, COLUMNS)
        if identity or "nextval(" in str(default)
    ]
    assert [s for s in sequenced if s[2] != "bigint"] == []
    assert all(t in placed for t, _, _ in sequenced)


def test_triggers_on_distributed_tables_are_the_reviewed_ones(
    migrated: str, placed: dict[str, citus.Placement]
) -> None:
    triggers = {(str(t), str(name)) for t, name in _catalog(migrated, TRIGGERS)}
    assert triggers >= ALLOWED_TRIGGERS, "the reviewed triggers are gone: update ALLOWED_TRIGGERS"
    assert triggers - ALLOWED_TRIGGERS == set(), "a new trigger runs on shards: review it, then allow it here"


def _statements(sql_text: str) -> list[str]:
    """Statements of a migration, comments dropped and whitespace folded (function bodies are not split)."""
    text = re.sub(r"--[^\n]*", "", sql_text)
    text = re.sub(r"\$\$.*?\$\$", "$$", text, flags=re.S)
    return [" ".join(s.split()) for s in text.split(";") if s.strip()]


def test_later_migrations_use_no_statement_citus_refuses() -> None:
    found = [
        (m.version, why, statement)
        for m in migrations()
        if m.version > CITUS_BASELINE
        for statement in _statements(m.sql)
        for why, pattern in REFUSED.items()
        if re.search(pattern, statement, re.I)
    ]
    assert found == [], "these would fail on a database already distributed"


@pytest.mark.parametrize(
    ("statement", "refused"),
    [
        ("ALTER TABLE errors ADD COLUMN seq bigserial", True),
        ("ALTER TABLE errors ADD COLUMN n bigint GENERATED ALWAYS AS IDENTITY", True),
        ("ALTER TABLE errors ADD COLUMN n bigint DEFAULT nextval('s')", True),
        ("ALTER TABLE errors ALTER COLUMN workspace_id TYPE varchar", True),
        ("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_truncate", True),
        ("ALTER TABLE recoveries DETACH PARTITION recoveries_p20250101 CONCURRENTLY", True),
        ("ALTER TABLE errors ADD COLUMN cascading_failures bigint NOT NULL DEFAULT 0", False),
        ("ALTER TABLE errors SET (fillfactor = 70)", False),
        ("CREATE INDEX errors_by_status ON errors (workspace_id, status)", False),
    ],
)
def test_refused_patterns_catch_what_they_name(statement: str, refused: bool) -> None:
    assert any(re.search(p, s, re.I) for s in _statements(statement) for p in REFUSED.values()) is refused


def test_a_citus_coordinator_holds_the_tables_as_placed(migrated: str, placed: dict[str, citus.Placement]) -> None:
    """On plain PostgreSQL (the default) this checks that migrating placed nothing; on Citus, every placement."""
    with psycopg.connect(migrated) as conn:
        if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'citus'").fetchone() is None:
            assert conn.execute("SELECT to_regclass('pg_dist_partition')").fetchone() == (None,)
            return
        rows = conn.execute(
            "SELECT logicalrelid::regclass::text, partmethod, column_to_column_name(logicalrelid, partkey),"
            " colocationid FROM pg_dist_partition"
        ).fetchall()
    held = {str(t): (str(m), c, g) for t, m, c, g in rows}
    groups = set()
    for table, p in placed.items():
        method, column, group = held[table]
        if p.reference:
            assert method == "n", table
        else:
            assert (method, column) == ("h", "workspace_id"), table
            groups.add(group)
    assert len(groups) == 1, "distributed tables must share one colocation group"
