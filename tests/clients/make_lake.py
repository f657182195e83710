#!/usr/bin/env python3
"""Builds the client-compatibility fixture: the same small tables for laketap and PostgreSQL.

    /work/venv-fixture/bin/python tests/clients/make_lake.py

From the literal rows below it (re)writes, deterministically:

- lake/<schema>/<table>/part-0.parquet   the tables laketap serves (pyarrow)
- catalog/<schema>.toml                  laketap's catalog declarations, with descriptions
- views/<view>.sql                       views laketap creates with `--views` (schema kpi)
- postgres.sql                           the same schemas, tables, rows, comments and views
                                         for PostgreSQL (loaded by run.sh)

Both sides come from one definition (TABLES, VIEWS), so the data are identical;
the suites also compare `SELECT *` of every table between the two servers.

Type mapping (Arrow -> PostgreSQL): int16 smallint, int32 integer, int64 bigint,
float32 real, float64 double precision, decimal128(p,s) numeric(p,s), string text,
bool boolean, date32 date, time64[us] time, timestamp[us] timestamp,
timestamp[us, UTC] timestamptz, binary bytea, list<int32> integer[], list<string> text[].
"""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
UTC = dt.timezone.utc


def ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def tstz(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


# (arrow type, PostgreSQL type)
INT2 = (pa.int16(), "smallint")
INT4 = (pa.int32(), "integer")
INT8 = (pa.int64(), "bigint")
FLOAT4 = (pa.float32(), "real")
FLOAT8 = (pa.float64(), "double precision")
TEXT = (pa.string(), "text")
BOOL = (pa.bool_(), "boolean")
DATE = (pa.date32(), "date")
TIME = (pa.time64("us"), "time")
TIMESTAMP = (pa.timestamp("us"), "timestamp")
TIMESTAMPTZ = (pa.timestamp("us", tz="UTC"), "timestamptz")
BYTEA = (pa.binary(), "bytea")
INT4_ARRAY = (pa.list_(pa.int32()), "integer[]")
TEXT_ARRAY = (pa.list_(pa.string()), "text[]")


def NUMERIC(p: int, s: int):
    return (pa.decimal128(p, s), f"numeric({p},{s})")


# schema -> (description, {table -> (description, [(column, type, nullable, description)], rows)})
TABLES = {
    "clients": (
        "Client-compatibility fixture: people, every type, metrics",
        {
            "people": (
                "People, one row each (5 rows; Dora has no email)",
                [
                    ("id", INT8, False, "Person id"),
                    ("name", TEXT, False, "Display name"),
                    ("email", TEXT, True, "Email address, NULL when unknown"),
                    ("country", TEXT, False, "ISO country code"),
                    ("signup_at", TIMESTAMP, False, "Signup time (UTC)"),
                    ("score", FLOAT8, False, "A score"),
                ],
                [
                    (1, "Ada", "ada@example.com", "GB", ts("2026-01-05 09:00:00"), 9.5),
                    (2, "Bob", "bob@example.com", "US", ts("2026-01-06 10:30:00.123456"), 7.25),
                    (3, "Chloé", "chloe@example.com", "FR", ts("2026-02-01 00:00:00"), 8.0),
                    (4, "Dora", None, "US", ts("2026-02-14 23:59:59.999999"), 6.5),
                    (5, "Émile 😀", "emile@example.com", "FR", ts("2026-03-01 12:00:00"), 5.75),
                ],
            ),
            "all_types": (
                "One column of each type (row 3 is all NULL)",
                [
                    ("id", INT8, False, "Row id"),
                    ("c_int2", INT2, True, None),
                    ("c_int4", INT4, True, None),
                    ("c_int8", INT8, True, None),
                    ("c_float4", FLOAT4, True, None),
                    ("c_float8", FLOAT8, True, None),
                    ("c_numeric", NUMERIC(12, 3), True, "Exact decimal"),
                    ("c_text", TEXT, True, None),
                    ("c_bool", BOOL, True, None),
                    ("c_date", DATE, True, None),
                    ("c_time", TIME, True, None),
                    ("c_timestamp", TIMESTAMP, True, "Timestamp without time zone"),
                    ("c_timestamptz", TIMESTAMPTZ, True, "Timestamp with time zone (UTC)"),
                    ("c_bytea", BYTEA, True, None),
                    ("c_int_arr", INT4_ARRAY, True, None),
                    ("c_text_arr", TEXT_ARRAY, True, None),
                ],
                [
                    (
                        1, 1, 10, 100, 1.5, 2.25, Decimal("1234.567"), "hello", True,
                        d("2026-03-01"), dt.time(8, 30, 0, 123456),
                        ts("2026-03-01 08:30:00.123456"), tstz("2026-03-01 08:30:00.654321"),
                        b"\xde\xad\xbe\xef", [1, 2, 3], ["a", "b c", "d,e"],
                    ),
                    (
                        2, -32768, -2147483648, 9223372036854775807, -0.25, 1e-300,
                        Decimal("-999999999.999"), "Grüße, 世界 😀 'quoted' \"dq\" \\ back", False,
                        d("1999-12-31"), dt.time(23, 59, 59, 999999),
                        ts("2000-02-29 00:00:00"), tstz("1970-01-01 00:00:00"),
                        b"", [], ["", "ü"],
                    ),
                    (3,) + (None,) * 15,
                ],
            ),
            "metrics": (
                "A time series for dashboards (12 rows)",
                [
                    ("ts", TIMESTAMP, False, "Sample time (UTC)"),
                    ("host", TEXT, False, "Host name"),
                    ("value", FLOAT8, False, "Measured value"),
                ],
                [
                    (ts(f"2026-03-01 00:{m:02d}:00"), host, float(v))
                    for m, host, v in [
                        (0, "a", 1), (0, "b", 10), (5, "a", 2), (5, "b", 20),
                        (10, "a", 3), (10, "b", 30), (15, "a", 4), (15, "b", 40),
                        (20, "a", 5), (20, "b", 50), (25, "a", 6), (25, "b", 60),
                    ]
                ],
            ),
        },
    ),
    "sales": (
        "Client-compatibility fixture: a second schema",
        {
            "orders": (
                "Orders (6 rows)",
                [
                    ("order_id", INT8, False, "Order id"),
                    ("person_id", INT8, False, "Buyer (clients.people.id)"),
                    ("amount", NUMERIC(10, 2), False, "Amount in EUR"),
                    ("ordered_on", DATE, False, "Order date"),
                    ("status", TEXT, False, "open, shipped or cancelled"),
                ],
                [
                    (1, 1, Decimal("19.99"), d("2026-03-01"), "shipped"),
                    (2, 1, Decimal("5.00"), d("2026-03-02"), "open"),
                    (3, 2, Decimal("120.50"), d("2026-03-02"), "shipped"),
                    (4, 3, Decimal("0.01"), d("2026-03-03"), "cancelled"),
                    (5, 5, Decimal("99999999.99"), d("2026-03-03"), "open"),
                    (6, 4, Decimal("42.00"), d("2026-03-04"), "shipped"),
                ],
            ),
        },
    ),
}

# What laketap says of its `kpi` schema (describe.rs KPI_DESCRIPTION).
KPI_SCHEMA_DESCRIPTION = "KPI views of the live-audio app (KPI_SPEC.md), computed from schema amp"

# view name (schema kpi) -> (description, SQL body valid in DataFusion and PostgreSQL)
VIEWS = {
    "people_by_country": (
        "People per country with their average score",
        "SELECT country, COUNT(*) AS people, AVG(score) AS avg_score\n"
        "FROM clients.people\nGROUP BY country",
    ),
}


def toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def sql_literal(value, pgtype: str) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, float):
        return repr(value) if pgtype == "double precision" else f"{value!r}::real"
    if isinstance(value, bytes):
        return "'\\x" + value.hex() + "'::bytea"
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            return sql_str(value.isoformat(sep=" ")) + "::timestamptz"
        return sql_str(value.isoformat(sep=" ")) + "::timestamp"
    if isinstance(value, (dt.date, dt.time)):
        return sql_str(value.isoformat()) + "::" + pgtype
    if isinstance(value, list):
        return "ARRAY[" + ", ".join(sql_literal(v, pgtype[:-2]) for v in value) + "]::" + pgtype
    if isinstance(value, str):
        return sql_str(value)
    raise TypeError(f"no SQL literal for {value!r}")


def write_lake() -> None:
    lake = HERE / "lake"
    shutil.rmtree(lake, ignore_errors=True)
    for schema, (_, tables) in TABLES.items():
        for table, (_, columns, rows) in tables.items():
            fields = [pa.field(c, t[0], nullable=n) for c, t, n, _ in columns]
            arrays = [
                pa.array([r[i] for r in rows], type=f.type) for i, f in enumerate(fields)
            ]
            out = lake / schema / table
            out.mkdir(parents=True)
            pq.write_table(
                pa.Table.from_arrays(arrays, schema=pa.schema(fields)),
                out / "part-0.parquet",
                compression="snappy",
            )


def write_catalog() -> None:
    catalog = HERE / "catalog"
    shutil.rmtree(catalog, ignore_errors=True)
    catalog.mkdir()
    for schema, (description, tables) in TABLES.items():
        lines = [
            "# Generated by tests/clients/make_lake.py: do not edit.",
            f"schema = {toml_str(schema)}",
            f"description = {toml_str(description)}",
        ]
        for table, (tdesc, columns, _) in tables.items():
            cols = ", ".join(f"{c} = {toml_str(cd)}" for c, _, _, cd in columns if cd)
            lines += [
                "",
                f"[tables.{table}]",
                'format = "parquet"',
                f'location = "../lake/{schema}/{table}"',
                f"description = {toml_str(tdesc)}",
                f"columns = {{ {cols} }}",
            ]
        (catalog / f"{schema}.toml").write_text("\n".join(lines) + "\n")
    views = HERE / "views"
    shutil.rmtree(views, ignore_errors=True)
    views.mkdir()
    for view, (vdesc, body) in VIEWS.items():
        (views / f"{view}.sql").write_text(
            f"-- kpi.{view}: {vdesc}\n--\n-- Generated by tests/clients/make_lake.py: do not edit.\n"
            f"CREATE VIEW kpi.{view} AS\n{body};\n"
        )


def write_postgres_sql() -> None:
    out = [
        "-- Generated by tests/clients/make_lake.py: do not edit.",
        "-- The same schemas, tables, rows, comments and views as tests/clients/lake, for PostgreSQL.",
        "SET client_encoding = 'UTF8';",
        "SET TimeZone = 'UTC';",
    ]
    for schema, (description, tables) in TABLES.items():
        out.append(f"CREATE SCHEMA {schema};")
        out.append(f"COMMENT ON SCHEMA {schema} IS {sql_str(description)};")
        for table, (tdesc, columns, rows) in tables.items():
            cols = ",\n".join(
                f"    {c} {t[1]}{'' if n else ' NOT NULL'}" for c, t, n, _ in columns
            )
            out.append(f"CREATE TABLE {schema}.{table} (\n{cols}\n);")
            out.append(f"COMMENT ON TABLE {schema}.{table} IS {sql_str(tdesc)};")
            for c, _, _, cd in columns:
                if cd:
                    out.append(f"COMMENT ON COLUMN {schema}.{table}.{c} IS {sql_str(cd)};")
            values = ",\n".join(
                "    (" + ", ".join(sql_literal(v, t[1]) for v, (_, t, _, _) in zip(r, columns)) + ")"
                for r in rows
            )
            out.append(f"INSERT INTO {schema}.{table} VALUES\n{values};")
    out.append("CREATE SCHEMA kpi;")
    # laketap describes its view schema itself (crates/laketap-server/src/describe.rs,
    # KPI_DESCRIPTION); PostgreSQL gets the same comment.
    out.append(f"COMMENT ON SCHEMA kpi IS {sql_str(KPI_SCHEMA_DESCRIPTION)};")
    for view, (vdesc, body) in VIEWS.items():
        out.append(f"CREATE VIEW kpi.{view} AS\n{body};")
        out.append(f"COMMENT ON VIEW kpi.{view} IS {sql_str(vdesc)};")
    (HERE / "postgres.sql").write_text("\n".join(out) + "\n")


def main() -> None:
    write_lake()
    write_catalog()
    write_postgres_sql()
    n = sum(len(rows) for _, tables in TABLES.values() for _, _, rows in tables.values())
    print(f"wrote {HERE / 'lake'}, catalog/, views/ and postgres.sql: {n} rows")


if __name__ == "__main__":
    main()
