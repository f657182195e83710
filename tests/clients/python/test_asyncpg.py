"""asyncpg: binary protocol and prepared statements for everything, type introspection
from pg_type, cursors over portals with a row limit (Execute max_rows), COPY TO STDOUT,
transactions with savepoints."""

from __future__ import annotations

import asyncio
import io
import json

import asyncpg
import pytest

import cases
from harness import DRIVERS, check, rows

CLIENT = "asyncpg"
DRIVERS[CLIENT] = f"asyncpg {asyncpg.__version__}"


def case(fn):
    """Wraps `async fn(conn)` into a harness case over a fresh connection."""

    def run(server):
        async def main():
            conn = await asyncpg.connect(host="127.0.0.1", port=server.port, user="laketap",
                                         database="laketap", timeout=10)
            try:
                return await fn(conn)
            finally:
                await conn.close(timeout=5)

        return asyncio.run(main())

    return run


def record_rows(recs) -> list:
    return [[cases_value(v) for v in r.values()] for r in recs]


def cases_value(v):
    return rows([[v]])[0][0]


async def prepared_result(conn, sql, *args):
    stmt = await conn.prepare(sql)
    cols = [[a.name, a.type.name] for a in stmt.get_attributes()]
    return {"cols": cols, "params": [t.name for t in stmt.get_parameters()],
            "rows": record_rows(await stmt.fetch(*args))}


def param_arg(name, v):
    if name in ("json", "jsonb"):
        return json.dumps(v)
    return v


@pytest.mark.parametrize("name,v,pgtype", cases.PARAM_VALUES, ids=[p[0] for p in cases.PARAM_VALUES])
def test_param(name, v, pgtype):
    arg = param_arg(name, v)
    check(f"asyncpg.param.{name}", CLIENT, f"parameter {pgtype} (binary)",
          case(lambda conn: prepared_result(conn, f"SELECT $1::{pgtype} AS v", arg)))


def test_param_untyped_text():
    check("asyncpg.param.untyped_select", CLIENT, "untyped $1 in the select list",
          case(lambda conn: prepared_result(conn, "SELECT $1 AS v", "untyped")))


def test_param_inferred_from_column():
    check("asyncpg.param.inferred_from_column", CLIENT, "$1 typed from the column it is compared with",
          case(lambda conn: prepared_result(conn, "SELECT name FROM clients.people WHERE id = $1", 3)))


def test_param_inferred_from_arithmetic():
    check("asyncpg.param.inferred_from_expression", CLIENT, "$1 typed from an expression",
          case(lambda conn: prepared_result(conn, "SELECT id FROM clients.people WHERE score > $1 ORDER BY id", 7.0)))


@pytest.mark.parametrize("col", cases.ALL_TYPES_COLUMNS)
def test_column(col):
    check(f"asyncpg.column.{col}", CLIENT, f"read clients.all_types.{col} (binary)",
          case(lambda conn: prepared_result(conn, f"SELECT id, {col} FROM clients.all_types ORDER BY id")))


@pytest.mark.parametrize("table", list(cases.TABLE_QUERIES))
def test_table(table):
    check(f"asyncpg.table.{table}", CLIENT, f"read {table} (binary)",
          case(lambda conn: prepared_result(conn, cases.TABLE_QUERIES[table])))


def test_connect_info():
    async def fn(conn):
        v = conn.get_server_version()
        s = conn.get_settings()
        return {"major >= 9": v.major >= 9, "server_encoding": s.server_encoding,
                "client_encoding": s.client_encoding, "DateStyle": s.DateStyle,
                "integer_datetimes": s.integer_datetimes}

    check("asyncpg.startup.connect_info", CLIENT, "server version and settings at connect", case(fn))


def test_prepared_reuse():
    async def fn(conn):
        stmt = await conn.prepare("SELECT id, name, signup_at FROM clients.people WHERE id = $1")
        return [record_rows(await stmt.fetch(i)) for i in (1, 3, 5, 1)]

    check("asyncpg.prepared.reuse", CLIENT, "prepared statement executed four times", case(fn))


def test_fetchval_two_params():
    check("asyncpg.prepared.fetchval_two_params", CLIENT, "fetchval with two typed parameters",
          case(lambda conn: conn.fetchval("SELECT $1::int8 + $2::int8", 40, 2)))


def test_type_codec_introspection():
    async def fn(conn):
        await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
        return cases_value(await conn.fetchval("SELECT '{\"a\": [1, 2]}'::json"))

    check("asyncpg.introspection.set_type_codec_json", CLIENT, "set_type_codec (introspects pg_type)", case(fn))


def test_introspect_unknown_type():
    # oid and regclass are not in asyncpg's built-in codec table for every version:
    # a query returning them makes asyncpg introspect pg_type.
    check("asyncpg.introspection.regtype_result", CLIENT, "result of a type asyncpg introspects",
          case(lambda conn: prepared_result(conn, "SELECT 'int4'::regtype AS t, 23::oid AS o")))


@pytest.mark.parametrize("prefetch", [1, 5, 50])
def test_cursor_prefetch(prefetch):
    async def fn(conn):
        async with conn.transaction():
            out = []
            async for r in conn.cursor("SELECT ts, host, value FROM clients.metrics ORDER BY ts, host",
                                       prefetch=prefetch):
                out.append(list(r.values()))
            return rows(out)

    check(f"asyncpg.cursor.prefetch_{prefetch}", CLIENT,
          f"cursor iteration, portal Execute with max_rows={prefetch}", case(fn))


def test_cursor_fetch_forward():
    async def fn(conn):
        async with conn.transaction():
            cur = await conn.cursor("SELECT id, name FROM clients.people WHERE id > $1 ORDER BY id", 0)
            a = record_rows(await cur.fetch(2))
            moved = await cur.forward(1)
            b = record_rows([await cur.fetchrow()])
            c = record_rows(await cur.fetch(10))
            return {"a": a, "moved": moved, "b": b, "c": c}

    check("asyncpg.cursor.fetch_forward", CLIENT, "cursor fetch(n)/forward/fetchrow (portal resumed)", case(fn))


@pytest.mark.parametrize("fmt", ["text", "csv"])
def test_copy_from_query(fmt):
    async def fn(conn):
        buf = io.BytesIO()
        kw = {"format": "csv", "header": True} if fmt == "csv" else {}
        status = await conn.copy_from_query("SELECT id, name, email FROM clients.people ORDER BY id",
                                            output=buf, **kw)
        return {"status": status, "data": buf.getvalue().decode(), "after": await conn.fetchval("SELECT 1::int4")}

    check(f"asyncpg.copy_from_query.{fmt}", CLIENT, f"copy_from_query ({fmt})", case(fn))


def test_transactions():
    async def fn(conn):
        out = []
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            out.append(await conn.fetchval("SHOW transaction_isolation"))
            async with conn.transaction():  # SAVEPOINT
                out.append(await conn.fetchval("SELECT 1::int4"))
            try:
                async with conn.transaction():
                    await conn.fetch("SELECT * FROM clients.nope")
            except asyncpg.PostgresError as e:
                out.append(e.sqlstate)
            out.append(await conn.fetchval("SELECT 2::int4"))
        out.append(conn.is_in_transaction())
        return out

    check("asyncpg.tx.nested_savepoints", CLIENT, "transaction(isolation, readonly) with nested savepoints", case(fn))


def test_transaction_plain():
    async def fn(conn):
        tr = conn.transaction()
        await tr.start()
        a = conn.is_in_transaction()
        v = await conn.fetchval("SELECT 1::int4")
        await tr.rollback()
        return [a, v, conn.is_in_transaction()]

    check("asyncpg.tx.start_rollback", CLIENT, "transaction start/rollback", case(fn))


@pytest.mark.parametrize("name,sql", cases.ERRORS, ids=[e[0] for e in cases.ERRORS])
def test_error(name, sql):
    async def fn(conn):
        try:
            await conn.fetch(sql)
            got = {"ok": True}
        except asyncpg.PostgresError as e:
            got = {"error": e.sqlstate, "class": type(e).__name__}
        got["after"] = await conn.fetchval("SELECT 1::int4")
        return got

    check(f"asyncpg.error.{name}", CLIENT, f"error {name}, connection usable after", case(fn))


def test_execute_script():
    async def fn(conn):
        status = await conn.execute("SET application_name = 'asyncpg-x'; SELECT 1; SHOW application_name")
        return [status, await conn.fetchval("SHOW application_name")]

    check("asyncpg.simple.execute_script", CLIENT, "execute() of several statements (simple protocol)", case(fn))


def test_server_settings():
    # asyncpg's server_settings go in the startup packet.
    def run(server):
        async def main():
            conn = await asyncpg.connect(host="127.0.0.1", port=server.port, user="laketap",
                                         database="laketap", timeout=10,
                                         server_settings={"application_name": "notebook",
                                                          "search_path": "clients",
                                                          "TimeZone": "Asia/Kolkata"})
            try:
                out = {"settings": [conn.get_settings().application_name,
                                    conn.get_settings().TimeZone]}
                out["show"] = record_rows(await conn.fetch(
                    "SELECT current_setting('search_path'), current_setting('application_name'),"
                    " (SELECT count(*) FROM people),"
                    " '2026-03-01 12:00:00+00'::timestamptz::text"))
                return out
            finally:
                await conn.close(timeout=5)

        return asyncio.run(main())

    check("asyncpg.startup.server_settings", CLIENT, "server_settings in the startup packet", run)
