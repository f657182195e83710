"""SQLAlchemy 2 (psycopg2 and psycopg 3 dialects): connect-time probes, the inspector
(schemas, tables, views, columns with types and comments; pk/fk/indexes empty), Core
queries with bound parameters. pandas.read_sql over SQLAlchemy and over a DBAPI connection."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
import sqlalchemy as sa

from harness import DRIVERS, check, rows, value

CLIENT = "sqlalchemy"
DRIVERS[CLIENT] = f"SQLAlchemy {sa.__version__}"
DRIVERS["pandas"] = f"pandas {pd.__version__} (SQLAlchemy {sa.__version__}, psycopg2)"

DIALECTS = ["psycopg2", "psycopg"]
FIXTURE_SCHEMAS = {"clients", "sales", "kpi"}


# SQLAlchemy parses version() at connect and gives up on anything but "PostgreSQL N.N".
# That is tested by the sqlalchemy.*.connect cases (strict); every other case here falls
# back to (16, 0) when it cannot parse version(), so that it tests what it names.
LENIENT_VERSION = [True]


def _lenient(original):
    def get(self, connection):
        try:
            return original(self, connection)
        except AssertionError:
            if LENIENT_VERSION[0]:
                return (16, 0)
            raise

    return get


for _cls in {type(sa.create_engine(f"postgresql+{d}://x@127.0.0.1/x").dialect) for d in ("psycopg2", "psycopg")}:
    for _base in _cls.__mro__:
        if "_get_server_version_info" in _base.__dict__:
            _base._get_server_version_info = _lenient(_base.__dict__["_get_server_version_info"])


def engine(server, dialect):
    return sa.create_engine(f"postgresql+{dialect}://laketap@{server.url_tail}", poolclass=sa.pool.NullPool)


def with_engine(dialect, fn):
    def run(server):
        eng = engine(server, dialect)
        try:
            return fn(eng)
        finally:
            eng.dispose()

    return run


def inspect(dialect, fn):
    return with_engine(dialect, lambda eng: fn(sa.inspect(eng)))


def fixture_only(names):
    """Schemas of the fixture only: PostgreSQL's own (pg_*, information_schema, public) and
    laketap's `laketap` schema are not the fixture's."""
    return sorted(n for n in names if n in FIXTURE_SCHEMAS)


def columns_obs(cols):
    return [
        {
            "name": c["name"],
            "type": repr(c["type"]),
            "nullable": c["nullable"],
            "default": c.get("default"),
            "comment": c.get("comment"),
            "autoincrement": c.get("autoincrement"),
        }
        for c in cols
    ]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_connect(dialect):
    def fn(eng):
        LENIENT_VERSION[0] = False  # this case tests the version parse itself (forked child: no leak)
        with eng.connect() as conn:
            one = conn.execute(sa.text("SELECT 1::int4 AS one")).scalar()
            d = eng.dialect
            return {
                "server_version_info >= (9,)": d.server_version_info >= (9,),
                "default_schema_name": d.default_schema_name,
                "one": one,
            }

    check(f"sqlalchemy.{dialect}.connect", CLIENT, f"connect ({dialect} dialect: version(), current_schema())",
          with_engine(dialect, fn))


INSPECTIONS = {
    "schema_names": lambda i: fixture_only(i.get_schema_names()),
    "has_schema": lambda i: [i.has_schema("clients"), i.has_schema("nope")],
    "table_names_clients": lambda i: sorted(i.get_table_names(schema="clients")),
    "table_names_sales": lambda i: sorted(i.get_table_names(schema="sales")),
    "table_names_kpi": lambda i: sorted(i.get_table_names(schema="kpi")),
    "view_names_kpi": lambda i: sorted(i.get_view_names(schema="kpi")),
    "view_names_clients": lambda i: sorted(i.get_view_names(schema="clients")),
    "has_table": lambda i: [i.has_table("people", schema="clients"), i.has_table("nope", schema="clients"),
                            i.has_table("people_by_country", schema="kpi")],
    "columns_people": lambda i: columns_obs(i.get_columns("people", schema="clients")),
    "columns_all_types": lambda i: columns_obs(i.get_columns("all_types", schema="clients")),
    "columns_orders": lambda i: columns_obs(i.get_columns("orders", schema="sales")),
    "columns_view": lambda i: columns_obs(i.get_columns("people_by_country", schema="kpi")),
    "table_comment": lambda i: i.get_table_comment("people", schema="clients"),
    "view_comment": lambda i: i.get_table_comment("people_by_country", schema="kpi"),
    "pk_constraint": lambda i: i.get_pk_constraint("people", schema="clients"),
    "foreign_keys": lambda i: i.get_foreign_keys("orders", schema="sales"),
    "indexes": lambda i: i.get_indexes("people", schema="clients"),
    "unique_constraints": lambda i: i.get_unique_constraints("people", schema="clients"),
    "check_constraints": lambda i: i.get_check_constraints("people", schema="clients"),
    "multi_columns": lambda i: {
        f"{k[0]}.{k[1]}": columns_obs(v) for k, v in sorted(i.get_multi_columns(schema="sales").items())
    },
    "sequence_names": lambda i: i.get_sequence_names(schema="clients"),
    "materialized_view_names": lambda i: i.get_materialized_view_names(schema="kpi"),
}


@pytest.mark.parametrize("name", list(INSPECTIONS))
@pytest.mark.parametrize("dialect", DIALECTS)
def test_inspector(dialect, name):
    fn = INSPECTIONS[name]
    check(f"sqlalchemy.{dialect}.inspector.{name}", CLIENT, f"Inspector {name} ({dialect})",
          inspect(dialect, lambda i: value(fn(i))))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_reflect_table_and_select(dialect):
    def fn(eng):
        md = sa.MetaData()
        people = sa.Table("people", md, schema="clients", autoload_with=eng)
        q = sa.select(people.c.id, people.c.name, people.c.signup_at).where(
            people.c.country == sa.bindparam("c")).order_by(people.c.id)
        with eng.connect() as conn:
            return {"columns": [c.name for c in people.columns],
                    "rows": rows(conn.execute(q, {"c": "US"}).fetchall())}

    check(f"sqlalchemy.{dialect}.reflect_and_select", CLIENT, f"Table(autoload_with) then select() ({dialect})",
          with_engine(dialect, fn))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_core_types(dialect):
    def fn(eng):
        q = sa.text("SELECT :i AS i, :f AS f, :s AS s, :d AS d, :b AS b").bindparams(
            sa.bindparam("i", type_=sa.BigInteger), sa.bindparam("f", type_=sa.Float),
            sa.bindparam("s", type_=sa.String), sa.bindparam("d", type_=sa.Date), sa.bindparam("b", type_=sa.Boolean))
        import datetime as dt
        with eng.connect() as conn:
            return rows(conn.execute(q, {"i": 7, "f": 2.5, "s": "ü", "d": dt.date(2026, 3, 1), "b": False}).fetchall())

    check(f"sqlalchemy.{dialect}.text_bindparams", CLIENT, f"text() with typed bindparams ({dialect})",
          with_engine(dialect, fn))


# ------------------------------------------------------------------ pandas
def frame(df: pd.DataFrame):
    return {
        "columns": list(df.columns),
        "dtypes": [str(t) for t in df.dtypes],
        "rows": rows(df.astype(object).where(df.notna(), None).itertuples(index=False, name=None)),
    }


PANDAS = {
    "read_sql_query": lambda eng: pd.read_sql("SELECT * FROM clients.people ORDER BY id", eng),
    "read_sql_params": lambda eng: pd.read_sql(
        sa.text("SELECT id, name, score FROM clients.people WHERE score > :s ORDER BY id"), eng, params={"s": 6.0}),
    "read_sql_parse_dates": lambda eng: pd.read_sql(
        "SELECT ts, host, value FROM clients.metrics ORDER BY ts, host", eng, parse_dates=["ts"]),
    "read_sql_all_types": lambda eng: pd.read_sql(
        "SELECT id, c_int2, c_int4, c_int8, c_float4, c_float8, c_numeric, c_text, c_bool, c_date, "
        "c_timestamp, c_timestamptz FROM clients.all_types ORDER BY id", eng),
    "read_sql_table": lambda eng: pd.read_sql_table("orders", eng, schema="sales"),
    "read_sql_view": lambda eng: pd.read_sql("SELECT * FROM kpi.people_by_country ORDER BY country", eng),
    "read_sql_chunksize": lambda eng: pd.concat(
        list(pd.read_sql("SELECT * FROM clients.metrics ORDER BY ts, host", eng, chunksize=5))),
}


@pytest.mark.parametrize("name", list(PANDAS))
def test_pandas(name):
    def fn(eng):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return frame(PANDAS[name](eng))

    check(f"pandas.{name}", "pandas", f"pandas {name}", with_engine("psycopg2", fn))


def test_pandas_dbapi():
    import psycopg2

    def run(server):
        conn = psycopg2.connect(server.dsn)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return frame(pd.read_sql("SELECT id, name, email FROM clients.people WHERE id < %(n)s ORDER BY id",
                                         conn, params={"n": 4}))
        finally:
            conn.close()

    check("pandas.read_sql_dbapi_psycopg2", "pandas", "pandas read_sql over a raw psycopg2 connection", run)
