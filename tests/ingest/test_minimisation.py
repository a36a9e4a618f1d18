"""Data minimisation at capture time: what the policy drops or pseudonymizes never reaches the database file."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import simplefix
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from deltatrace.models import Event

SECRET_ACCOUNT = b"ACCT-7731-SECRET"
SECRET_TEXT = b"call Jane Doe at home"


def _order_log(path: Path) -> Path:
    msg = simplefix.FixMessage()
    msg.append_pair(8, "FIX.4.4")
    msg.append_pair(35, "D")
    msg.append_pair(49, "CLIENT")
    msg.append_pair(56, "BROKER")
    msg.append_pair(34, 7)
    msg.append_pair(52, "20260101-09:30:00.123456")
    msg.append_pair(11, "ORD-1")
    msg.append_pair(1, SECRET_ACCOUNT)
    msg.append_pair(55, "ACME")
    msg.append_pair(54, 1)
    msg.append_pair(38, 100)
    msg.append_pair(40, 2)
    msg.append_pair(44, "101.25")
    msg.append_pair(58, SECRET_TEXT)
    path.write_bytes(msg.encode() + b"\n")
    return path


@pytest.mark.django_db(transaction=True)
def test_a_dropped_or_pseudonymized_value_appears_nowhere_in_the_database_file(tmp_path):
    call_command(
        "ingest",
        str(_order_log(tmp_path / "client.log")),
        "--incident",
        "m",
        "--format",
        "fix",
        stdout=io.StringIO(),
    )
    event = Event.objects.get(kind="Order")
    assert event.payload_dict()["account"].startswith("pn_")
    assert "text" not in event.payload_dict()
    assert SECRET_ACCOUNT.decode() not in (event.raw or "")

    content = _sqlite_file_bytes() if connection.vendor == "sqlite" else _every_row_as_text()
    assert b"ORD-1" in content, "sanity: the event itself was stored where we look"
    assert SECRET_ACCOUNT not in content
    assert SECRET_TEXT not in content


def _sqlite_file_bytes() -> bytes:
    """The database file itself (and its write-ahead log), as an attacker with the disk would see it."""
    with connection.cursor() as cur:
        cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db_file = Path(settings.DATABASES["default"]["TEST"]["NAME"])
    content = db_file.read_bytes()
    wal = db_file.with_name(db_file.name + "-wal")
    return content + (wal.read_bytes() if wal.exists() else b"")


def _every_row_as_text() -> bytes:
    """PostgreSQL: every row of every table, as JSON text."""
    out = []
    with connection.cursor() as cur:
        for table in connection.introspection.table_names(cur):
            cur.execute(f'SELECT row_to_json(t)::text FROM "{table}" t')
            out.extend(row[0].encode() for row in cur.fetchall())
    return b"\n".join(out)
