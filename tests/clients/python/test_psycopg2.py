"""psycopg2: simple query protocol with client-side parameter quoting, implicit BEGIN,
named (DECLARE) cursors, copy_expert COPY TO STDOUT, server_version parsing."""

from __future__ import annotations

import psycopg2
import psycopg2.extensions
import psycopg2.extras
import pytest

import cases
from harness import DRIVERS, check, rows

CLIENT = "psycopg2"
_lv = psycopg2.extensions.libpq_version()
DRIVERS[CLIENT] = f"psycopg2 {psycopg2.__version__.split()[0]} (libpq {_lv // 10000}.{_lv % 10000})"
psycopg2.extras.register_uuid()


def connect(server, autocommit=True):
    conn = psycopg2.connect(server.dsn)
    conn.autocommit = autocommit
    return conn


def result(cur) -> dict:
    cols = [[d.name, d.type_code] for d in cur.description] if cur.description else None
    return {"cols": cols, "rows": rows(cur.fetchall()) if cur.description else None}


def query(sql, params=None):
    def run(server):
        conn = connect(server)
        try:
            cur = conn.cursor()
            cur.execute(sql, params)
            return result(cur)
        finally:
            conn.close()

    return run


WRAP = {"json": psycopg2.extras.Json, "jsonb": psycopg2.extras.Json}


@pytest.mark.parametrize("name,v,pgtype", cases.PARAM_VALUES, ids=[p[0] for p in cases.PARAM_VALUES])
def test_param(name, v, pgtype):
    p = WRAP[name](v) if name in WRAP else v
    check(f"psycopg2.param.{name}", CLIENT, f"parameter {pgtype} (client-side quoting)",
          query(f"SELECT %s::{pgtype} AS v", (p,)))


@pytest.mark.parametrize("col", cases.ALL_TYPES_COLUMNS)
def test_column(col):
    check(f"psycopg2.column.{col}", CLIENT, f"read clients.all_types.{col}",
          query(f"SELECT id, {col} FROM clients.all_types ORDER BY id"))


@pytest.mark.parametrize("table", list(cases.TABLE_QUERIES))
def test_table(table):
    check(f"psycopg2.table.{table}", CLIENT, f"read {table}", query(cases.TABLE_QUERIES[table]))


def test_connect_info():
    def run(server):
        conn = connect(server, autocommit=False)
        try:
            return {
                "server_version >= 90000": conn.server_version >= 90000,
                "protocol_version": conn.protocol_version,
                "encoding": conn.encoding,
                "status_after_select": [conn.cursor().execute("SELECT 1::int4"), conn.get_transaction_status()][1],
            }
        finally:
            conn.close()

    check("psycopg2.startup.connect_info", CLIENT, "server_version, encoding, implicit BEGIN", run)


def test_implicit_transaction():
    def run(server):
        conn = connect(server, autocommit=False)
        try:
            cur = conn.cursor()
            out = []
            cur.execute("SELECT name FROM clients.people WHERE id = %s", (1,))
            out.append([rows(cur.fetchall()), conn.get_transaction_status()])
            conn.commit()
            out.append(conn.get_transaction_status())
            cur.execute("SELECT 2::int4")
            conn.rollback()
            out.append(conn.get_transaction_status())
            conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
            cur.execute("SHOW transaction_isolation")
            out.append(rows(cur.fetchall()))
            conn.rollback()
            return out
        finally:
            conn.close()

    check("psycopg2.tx.implicit_begin_commit_rollback", CLIENT, "implicit BEGIN, commit, rollback, set_session", run)


@pytest.mark.parametrize("itersize", [2, 100])
def test_named_cursor(itersize):
    def run(server):
        conn = connect(server, autocommit=False)
        try:
            cur = conn.cursor(name="lt_p2")
            cur.itersize = itersize
            cur.execute("SELECT ts, host, value FROM clients.metrics ORDER BY ts, host")
            first = rows(cur.fetchmany(3))
            rest = rows(list(cur))
            conn.commit()
            return {"first": first, "rest": rest}
        finally:
            conn.close()

    check(f"psycopg2.named_cursor.itersize_{itersize}", CLIENT, "named (DECLARE/FETCH) cursor", run)


@pytest.mark.parametrize("fmt", ["text", "csv"])
def test_copy_expert(fmt):
    import io

    def run(server):
        conn = connect(server)
        try:
            buf = io.StringIO()
            opts = "" if fmt == "text" else " WITH CSV HEADER"
            conn.cursor().copy_expert(
                f"COPY (SELECT id, name, email, signup_at FROM clients.people ORDER BY id) TO STDOUT{opts}", buf)
            cur = conn.cursor()
            cur.execute("SELECT 1::int4")
            return {"data": buf.getvalue(), "after": rows(cur.fetchall())}
        finally:
            conn.close()

    check(f"psycopg2.copy_expert.{fmt}", CLIENT, f"copy_expert COPY TO STDOUT ({fmt})", run)


@pytest.mark.parametrize("name,sql", cases.ERRORS, ids=[e[0] for e in cases.ERRORS])
def test_error(name, sql):
    def run(server):
        conn = connect(server)
        try:
            cur = conn.cursor()
            try:
                cur.execute(sql)
                got = {"status": cur.statusmessage}
            except psycopg2.Error as e:
                got = {"error": e.pgcode, "class": type(e).__name__}
            cur.execute("SELECT 1::int4")
            got["after"] = rows(cur.fetchall())
            return got
        finally:
            conn.close()

    check(f"psycopg2.error.{name}", CLIENT, f"error {name}, connection usable after", run)


def test_savepoint():
    def run(server):
        conn = connect(server, autocommit=False)
        try:
            cur = conn.cursor()
            out = []
            for sql in ["SAVEPOINT sp1", "SELECT 1::int4", "ROLLBACK TO SAVEPOINT sp1", "RELEASE SAVEPOINT sp1"]:
                cur.execute(sql)
                out.append(cur.statusmessage)
            conn.commit()
            return out
        finally:
            conn.close()

    check("psycopg2.tx.savepoint", CLIENT, "SAVEPOINT / ROLLBACK TO / RELEASE in an implicit transaction", run)
