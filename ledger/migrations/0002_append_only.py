"""Append-only in the database: reject UPDATE and DELETE on entries, nodes and checkpoints."""

from django.db import migrations

TABLES = ("ledger_ledgerentry", "ledger_ledgernode", "ledger_checkpoint")

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION deltatrace_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger is append-only: % on % rejected', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""


def _sql(vendor: str, forward: bool) -> list[str]:
    out: list[str] = []
    if vendor == "postgresql":
        if forward:
            out.append(PG_FUNCTION)
        for t in TABLES:
            out.append(f"DROP TRIGGER IF EXISTS {t}_append_only ON {t}")
            if forward:
                out.append(
                    f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t} "
                    "FOR EACH ROW EXECUTE FUNCTION deltatrace_ledger_append_only()"
                )
        if not forward:
            out.append("DROP FUNCTION IF EXISTS deltatrace_ledger_append_only()")
    elif vendor == "sqlite":
        for t in TABLES:
            for op in ("UPDATE", "DELETE"):
                name = f"{t}_no_{op.lower()}"
                out.append(f"DROP TRIGGER IF EXISTS {name}")
                if forward:
                    out.append(
                        f"CREATE TRIGGER {name} BEFORE {op} ON {t} "
                        "WHEN NOT deltatrace_ledger_writable() "
                        f"BEGIN SELECT RAISE(ABORT, 'ledger is append-only: {op} on {t} rejected'); END"
                    )
    return out


def forwards(apps, schema_editor):
    for stmt in _sql(schema_editor.connection.vendor, True):
        schema_editor.execute(stmt, params=None)


def backwards(apps, schema_editor):
    for stmt in _sql(schema_editor.connection.vendor, False):
        schema_editor.execute(stmt, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
