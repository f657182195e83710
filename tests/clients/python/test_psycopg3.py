"""psycopg 3: extended protocol (text and binary, typed and untyped parameters, prepared
statements), simple protocol (ClientCursor), server-side cursors, COPY TO STDOUT,
transactions and savepoints, SET/SHOW/RESET, catalog functions, errors."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.types.json import Json, Jsonb
from psycopg.types.numeric import Float4, Int2, Int4, Int8

import cases
from harness import DRIVERS, check, rows

CLIENT = "psycopg3"
DRIVERS[CLIENT] = f"psycopg {psycopg.__version__} (libpq {psycopg.pq.version() // 10000}.{psycopg.pq.version() % 10000})"

WRAP = {"int2": Int2, "int4": Int4, "int8": Int8, "float4": Float4, "json": Json, "jsonb": Jsonb}


def connect(server, **kw):
    kw.setdefault("autocommit", True)
    return psycopg.connect(server.dsn, **kw)


def result(cur) -> dict:
    cols = [[d.name, d.type_code] for d in cur.description] if cur.description else None
    return {"cols": cols, "rows": rows(cur.fetchall()) if cur.description else None}


def query(sql, params=None, binary=False, prepare=None):
    def run(server):
        with connect(server) as conn:
            cur = conn.cursor(binary=binary)
            cur.execute(sql, params, prepare=prepare)
            return result(cur)

    return run


def wrapped(name, v):
    return WRAP[name](v) if name in WRAP and v is not None else v


# ------------------------------------------------------------------ parameters
@pytest.mark.parametrize("name,v,pgtype", cases.PARAM_VALUES, ids=[p[0] for p in cases.PARAM_VALUES])
@pytest.mark.parametrize("mode", ["text", "binary", "nocast"])
def test_param(name, v, pgtype, mode):
    p = wrapped(name, v)
    if mode == "text":
        fn = query(f"SELECT %s::{pgtype} AS v", (p,))
    elif mode == "binary":
        fn = query(f"SELECT %b::{pgtype} AS v", (p,), binary=True)
    else:
        fn = query("SELECT %s AS v", (p,))
    check(f"psycopg3.param.{name}.{mode}", CLIENT, f"parameter {pgtype} ({mode})", fn)


def test_param_untyped_inferred_from_context():
    # psycopg 3 sends str with type 0 (unknown): the server infers bigint from `id = $1`.
    fn = query("SELECT name FROM clients.people WHERE id = %s", ("3",))
    check("psycopg3.param.inferred_from_column", CLIENT, "untyped parameter inferred from context", fn)


def test_param_untyped_text():
    fn = query("SELECT %t AS v", ("untyped",))
    check("psycopg3.param.untyped_select", CLIENT, "untyped parameter in the select list", fn)


def test_param_many():
    fn = query(
        "SELECT id, name FROM clients.people WHERE country = %s AND score > %s AND signup_at < %s ORDER BY id",
        ("US", 1.0, cases.PARAM_VALUES[12][1]),
    )
    check("psycopg3.param.where_clause", CLIENT, "several parameters in WHERE", fn)


# ------------------------------------------------------------------ table reads
@pytest.mark.parametrize("col", cases.ALL_TYPES_COLUMNS)
@pytest.mark.parametrize("fmt", ["text", "binary"])
def test_column(col, fmt):
    fn = query(f"SELECT id, {col} FROM clients.all_types ORDER BY id", binary=fmt == "binary")
    check(f"psycopg3.column.{col}.{fmt}", CLIENT, f"read clients.all_types.{col} ({fmt} results)", fn)


@pytest.mark.parametrize("table", list(cases.TABLE_QUERIES))
@pytest.mark.parametrize("fmt", ["text", "binary"])
def test_table(table, fmt):
    fn = query(cases.TABLE_QUERIES[table], binary=fmt == "binary")
    check(f"psycopg3.table.{table}.{fmt}", CLIENT, f"read {table} ({fmt} results)", fn)


# ------------------------------------------------------------------ functions and literals
@pytest.mark.parametrize("name", list(cases.FUNCTIONS))
def test_function(name):
    check(f"psycopg3.function.{name}", CLIENT, f"function/literal {name}", query(cases.FUNCTIONS[name]))


@pytest.mark.parametrize("name", ["bytea_hex_literal", "timestamptz_literal", "untyped_literals", "numeric_precision", "float_text", "interval_text"])
def test_function_binary(name):
    fn = query(cases.FUNCTIONS[name], binary=True)
    check(f"psycopg3.function.{name}.binary", CLIENT, f"function/literal {name} (binary)", fn)


def test_version_and_server_version():
    def run(server):
        with connect(server) as conn:
            v = conn.execute("SELECT version()").fetchone()[0]
            sv = conn.info.parameter_status("server_version")
            num = conn.execute("SHOW server_version_num").fetchone()[0]
            return {
                "version() is 'PostgreSQL N.N ...'": bool(cases.VERSION_RE.match(v)),
                "server_version parameter is 'N.N ...'": bool(sv and cases.SERVER_VERSION_RE.match(sv)),
                "libpq server_version >= 90000": conn.info.server_version >= 90000,
                "SHOW server_version is 'N.N ...'": bool(
                    cases.SERVER_VERSION_RE.match(conn.execute("SHOW server_version").fetchone()[0])
                ),
                "server_version_num agrees with the parameter": num.isdigit()
                and int(num) // 10000 == int(sv.split(".")[0]),
            }

    check("psycopg3.startup.version", CLIENT, "version() and server_version format", run)


def test_startup_parameter_status():
    names = ["client_encoding", "DateStyle", "IntervalStyle", "integer_datetimes", "is_superuser",
             "server_encoding", "standard_conforming_strings", "TimeZone", "session_authorization"]

    def run(server):
        with connect(server) as conn:
            return {n: conn.info.parameter_status(n) for n in names}

    check("psycopg3.startup.parameter_status", CLIENT, "ParameterStatus at startup", run)


def test_startup_options():
    # psycopg's options= (libpq's PGOPTIONS): `-c name=value` in the startup packet.
    def run(server):
        opts = r"-c search_path=sales -c TimeZone=Europe/Paris -c DateStyle=SQL,\ DMY"
        with connect(server, options=opts) as conn:
            out = {n: conn.info.parameter_status(n) for n in ["TimeZone", "DateStyle"]}
            cur = conn.execute("SHOW search_path")
            out["search_path"] = cur.fetchone()[0]
            cur = psycopg.ClientCursor(conn)
            cur.execute("SELECT count(*) AS n, min(ordered_on)::text AS first,"
                        " '2026-03-01 12:00:00+00'::timestamptz::text AS noon FROM orders")
            out["rows"] = result(cur)
            return out

    check("psycopg3.startup.options", CLIENT, "settings in the startup packet (options=-c ...)", run)


@pytest.mark.parametrize("zone", ["Europe/Paris", "+05:30", "-7", "GMT+5", "utc"])
def test_time_zone_forms(zone):
    # SET TIME ZONE with a name, a POSIX offset (hours west) and hours east.
    def run(server):
        with connect(server) as conn:
            cur = psycopg.ClientCursor(conn)
            cur.execute(f"SET TIME ZONE '{zone}'")
            cur.execute("SELECT current_setting('TimeZone') AS z,"
                        " '2026-03-01 12:00:00+00'::timestamptz::text AS t")
            return result(cur)

    check(f"psycopg3.set.time_zone[{zone}]", CLIENT, f"SET TIME ZONE '{zone}'", run)


@pytest.mark.parametrize("simple", [True, False], ids=["simple", "extended"])
def test_zone_semantics(simple):
    # AT TIME ZONE both ways, age() of timestamptz and date_part inside text, in a session zone.
    sql = ("SELECT DATE '2026-03-01' AT TIME ZONE 'UTC' AS a,"
           " TIMESTAMP '2026-07-01 01:00' AT TIME ZONE 'Europe/Paris' AS b,"
           " date_trunc('day', TIMESTAMP '2026-07-01 01:00' AT TIME ZONE 'America/New_York') AS c,"
           " age(TIMESTAMPTZ '2026-03-01 00:30+01', TIMESTAMPTZ '2026-02-01 00:30+01')::text AS d,"
           " date_part('year', DATE '2026-03-02') || '-' || date_part('month', DATE '2026-03-02') AS e,"
           " to_char(TIMESTAMP '2026-03-01 00:00', 'OF') AS f")

    def run(server):
        with connect(server) as conn:
            conn.execute("SET TIME ZONE 'Europe/Paris'")
            cur = psycopg.ClientCursor(conn) if simple else conn.cursor()
            cur.execute(sql, prepare=None if simple else True)
            return result(cur)

    mode = "simple" if simple else "extended"
    check(f"psycopg3.function.zone_semantics[{mode}]", CLIENT,
          f"AT TIME ZONE, age, date_part text in a session zone ({mode})", run)


@pytest.mark.parametrize("simple", [True, False], ids=["simple", "extended"])
def test_result_types_in_a_zone(simple):
    # sum(int8) is numeric; date_trunc of a date is a timestamptz at local midnight.
    sql = ("SELECT date_trunc('month', ordered_on) AS m, sum(person_id) AS s,"
           " sum(person_id) OVER () AS w FROM sales.orders GROUP BY 1, person_id ORDER BY 1, 2 LIMIT 3")

    def run(server):
        with connect(server) as conn:
            conn.execute("SET TIME ZONE 'America/New_York'")
            cur = psycopg.ClientCursor(conn) if simple else conn.cursor()
            cur.execute(sql)
            return result(cur)

    mode = "simple" if simple else "extended"
    check(f"psycopg3.function.result_types_in_zone[{mode}]", CLIENT,
          f"sum(int8), windowed sum and date_trunc(date) types ({mode})", run)


# ------------------------------------------------------------------ protocols
def test_simple_protocol():
    def run(server):
        with connect(server) as conn:
            cur = psycopg.ClientCursor(conn)
            cur.execute("SELECT id, name, signup_at, score FROM clients.people WHERE country = %s ORDER BY id", ("FR",))
            return result(cur)

    check("psycopg3.simple.query", CLIENT, "simple query protocol (ClientCursor)", run)


def test_simple_multi_statement():
    def run(server):
        with connect(server) as conn:
            cur = psycopg.ClientCursor(conn)
            cur.execute("SELECT 1::int4 AS a; SELECT 'x'::text AS b, 2::int8 AS c")
            out = [result(cur)]
            while cur.nextset():
                out.append(result(cur))
            return out

    check("psycopg3.simple.multi_statement", CLIENT, "several statements in one Query", run)


def test_prepared_reuse():
    def run(server):
        with connect(server, prepare_threshold=0) as conn:
            out = []
            for i in (1, 2, 4, 5, 1):
                cur = conn.execute("SELECT id, name, email FROM clients.people WHERE id = %s", (i,), prepare=True)
                out.append(result(cur))
            return out

    check("psycopg3.prepared.reuse", CLIENT, "prepared statement reused with new parameters", run)


def test_prepared_binary_reuse():
    def run(server):
        with connect(server, prepare_threshold=0) as conn:
            cur = conn.cursor(binary=True)
            out = []
            for i in (1, 2, 3):
                cur.execute("SELECT * FROM clients.all_types WHERE id = %s", (Int8(i),), prepare=True)
                out.append(result(cur))
            return out

    check("psycopg3.prepared.binary_all_types", CLIENT, "prepared, binary results, all types", run)


def test_stream():
    def run(server):
        with connect(server) as conn:
            return rows(conn.cursor().stream("SELECT ts, host, value FROM clients.metrics ORDER BY ts, host"))

    check("psycopg3.stream.single_row_mode", CLIENT, "cursor.stream (single-row mode)", run)


# ------------------------------------------------------------------ server-side cursors
@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_named_cursor(binary):
    def run(server):
        with connect(server, autocommit=False) as conn:
            cur = conn.cursor(name="lt_cur", binary=binary)
            cur.execute("SELECT ts, host, value FROM clients.metrics ORDER BY ts, host")
            desc = [[d.name, d.type_code] for d in cur.description]
            parts = [rows(cur.fetchmany(5)), rows(cur.fetchmany(5)), rows(cur.fetchall()), rows(cur.fetchmany(5))]
            cur.close()
            conn.commit()
            return {"cols": desc, "parts": parts}

    check(f"psycopg3.named_cursor.fetchmany.{'binary' if binary else 'text'}", CLIENT,
          "server-side (named) cursor, fetchmany", run)


def test_named_cursor_with_hold():
    def run(server):
        with connect(server) as conn:
            cur = conn.cursor(name="lt_hold", withhold=True)
            cur.execute("SELECT id, name FROM clients.people ORDER BY id")
            out = [rows(cur.fetchmany(2)), rows(cur.fetchall())]
            cur.close()
            return out

    check("psycopg3.named_cursor.with_hold", CLIENT, "DECLARE ... WITH HOLD cursor outside a transaction", run)


def test_declare_fetch_sql():
    steps = [
        "BEGIN",
        "DECLARE c1 CURSOR FOR SELECT id, name FROM clients.people ORDER BY id",
        "FETCH 2 FROM c1",
        "FETCH NEXT FROM c1",
        "MOVE 1 IN c1",
        "FETCH ALL FROM c1",
        "CLOSE c1",
        "COMMIT",
    ]
    check("psycopg3.named_cursor.declare_fetch_sql", CLIENT, "DECLARE/FETCH/MOVE/CLOSE as SQL", script(steps))


# ------------------------------------------------------------------ COPY TO STDOUT
COPIES = {
    "text": "COPY (SELECT id, name, email, signup_at, score FROM clients.people ORDER BY id) TO STDOUT",
    "csv_header": "COPY (SELECT id, name, email, signup_at, score FROM clients.people ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER)",
    "csv_legacy_syntax": "COPY (SELECT id, name FROM clients.people ORDER BY id) TO STDOUT WITH CSV HEADER",
    "all_types_text": "COPY (SELECT * FROM clients.all_types ORDER BY id) TO STDOUT",
    "table": "COPY sales.orders TO STDOUT",
    "binary": "COPY (SELECT id, name FROM clients.people ORDER BY id) TO STDOUT WITH (FORMAT binary)",
    "regtype": "COPY (SELECT a.attname, a.atttypid::regtype, 'int8'::regtype FROM pg_catalog.pg_attribute a "
               "JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
               "WHERE n.nspname = 'clients' AND c.relname = 'people' AND a.attnum > 0 ORDER BY a.attnum) TO STDOUT WITH (FORMAT csv, HEADER)",
}


@pytest.mark.parametrize("name", list(COPIES))
def test_copy_to_stdout(name):
    def run(server):
        with connect(server) as conn:
            cur = conn.cursor()
            with cur.copy(COPIES[name]) as copy:
                data = b"".join(bytes(b) for b in copy)
            after = conn.execute("SELECT 1::int4").fetchall()
            return {"data": data.hex() if name == "binary" else data.decode(), "rowcount": cur.rowcount,
                    "after": rows(after)}

    check(f"psycopg3.copy_to_stdout.{name}", CLIENT, f"COPY ... TO STDOUT ({name})", run)


# ------------------------------------------------------------------ transactions and settings
def script(steps, autocommit=True):
    """Runs SQL steps on one connection; each gives its command tag, transaction status and rows or SQLSTATE."""

    def run(server):
        with connect(server, autocommit=autocommit) as conn:
            out = []
            for sql in steps:
                cur = conn.cursor()
                try:
                    cur.execute(sql)
                    got = {"tag": cur.statusmessage, "rows": rows(cur.fetchall()) if cur.description else None}
                except psycopg.Error as e:
                    got = {"error": e.sqlstate}
                got["tx"] = conn.info.transaction_status.name
                out.append([sql, got])
            return out

    return run


TRANSACTIONS = {
    "begin_commit_rollback": ["BEGIN", "SELECT 1::int4", "COMMIT", "BEGIN", "SELECT 2::int4", "ROLLBACK",
                              "START TRANSACTION", "END"],
    "isolation_levels": ["BEGIN ISOLATION LEVEL REPEATABLE READ", "SHOW transaction_isolation", "COMMIT",
                         "START TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY", "SHOW transaction_read_only",
                         "ROLLBACK", "BEGIN", "SET TRANSACTION ISOLATION LEVEL READ COMMITTED",
                         "SHOW transaction_isolation", "COMMIT"],
    "session_characteristics": ["SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ",
                                "SHOW default_transaction_isolation", "BEGIN", "SHOW transaction_isolation",
                                "COMMIT", "SHOW transaction_isolation"],
    "savepoints": ["BEGIN", "SAVEPOINT a", "SELECT 1::int4", "RELEASE SAVEPOINT a", "SAVEPOINT b",
                   "ROLLBACK TO SAVEPOINT b", "RELEASE b", "COMMIT"],
    "error_aborts_transaction": ["BEGIN", "SELECT * FROM clients.nope", "SELECT 1::int4", "ROLLBACK",
                                 "SELECT 2::int4"],
    "rollback_to_after_error": ["BEGIN", "SAVEPOINT s", "SELECT * FROM clients.nope", "ROLLBACK TO SAVEPOINT s",
                                "SELECT 1::int4", "COMMIT"],
    "commit_outside_transaction": ["COMMIT", "ROLLBACK", "SELECT 1::int4"],
    "savepoint_outside_transaction": ["SAVEPOINT x", "SELECT 1::int4"],
}


@pytest.mark.parametrize("name", list(TRANSACTIONS))
def test_transaction(name):
    check(f"psycopg3.tx.{name}", CLIENT, f"transactions: {name}", script(TRANSACTIONS[name]))


def test_transaction_api_nested():
    def run(server):
        with connect(server, autocommit=False) as conn:
            out = []
            with conn.transaction():
                out.append(rows(conn.execute("SELECT 1::int4").fetchall()))
                with conn.transaction():  # SAVEPOINT
                    out.append(rows(conn.execute("SELECT 2::int4").fetchall()))
                try:
                    with conn.transaction():
                        conn.execute("SELECT * FROM clients.nope")
                except psycopg.Error as e:
                    out.append(e.sqlstate)
                out.append(rows(conn.execute("SELECT 3::int4").fetchall()))
            out.append(conn.info.transaction_status.name)
            return out

    check("psycopg3.tx.api_nested_savepoints", CLIENT, "conn.transaction() nested (savepoints)", run)


@pytest.mark.parametrize("name,val,probe", cases.SETTINGS, ids=[s[0] for s in cases.SETTINGS])
def test_setting(name, val, probe):
    steps = [f"SHOW {name}", f"SET {name} = {val}", f"SHOW {name}"]
    if probe:
        steps.append(probe)
    steps += [f"RESET {name}", f"SHOW {name}"]
    if probe:
        steps.append(probe)
    check(f"psycopg3.set.{name}", CLIENT, f"SET/SHOW/RESET {name}", script(steps))


def test_set_local_and_set_to_default():
    steps = ["BEGIN", "SET LOCAL TimeZone = 'Asia/Tokyo'", "SHOW TimeZone", "COMMIT", "SHOW TimeZone",
             "SET application_name TO 'x'", "SET application_name TO DEFAULT", "SHOW application_name",
             "SET TIME ZONE 'Europe/Paris'", "SHOW TimeZone", "RESET ALL", "SHOW TimeZone"]
    check("psycopg3.set.local_default_reset_all", CLIENT, "SET LOCAL, SET TO DEFAULT, SET TIME ZONE, RESET ALL",
          script(steps))


def test_set_reports_parameter_status():
    def run(server):
        with connect(server) as conn:
            out = {}
            for name, val in [("application_name", "'lt-app'"), ("TimeZone", "'Europe/Paris'"),
                              ("DateStyle", "'ISO, DMY'"), ("IntervalStyle", "'sql_standard'")]:
                conn.execute(f"SET {name} = {val}")
                out[name] = conn.info.parameter_status(name)
            return out

    check("psycopg3.set.parameter_status_reported", CLIENT, "SET sends ParameterStatus", run)


def test_show_all():
    def run(server):
        with connect(server) as conn:
            cur = conn.execute("SHOW ALL")
            cols = [d.name for d in cur.description]
            got = {r[0].lower(): r[1] for r in cur.fetchall() if r and r[0]}
            return {"cols": cols, "settings": {n: got.get(n.lower(), "<missing>") for n in cases.SHOW_ALL_NAMES}}

    check("psycopg3.set.show_all", CLIENT, "SHOW ALL (the settings clients read)", run)


def test_pg_settings():
    def run(server):
        with connect(server) as conn:
            cur = conn.execute(
                "SELECT name, setting FROM pg_catalog.pg_settings WHERE name = ANY(%s) ORDER BY name",
                ([n.lower() for n in cases.SHOW_ALL_NAMES] + [n for n in cases.SHOW_ALL_NAMES],),
            )
            return rows(cur.fetchall())

    check("psycopg3.set.pg_settings", CLIENT, "pg_settings rows of the settings clients read", run)


def test_set_is_per_connection():
    def run(server):
        with connect(server) as a, connect(server) as b:
            before = [b.execute(f"SHOW {n}").fetchone()[0] for n in ("application_name", "TimeZone", "search_path")]
            a.execute("SET application_name = 'conn-a'")
            a.execute("SET TimeZone = 'Asia/Tokyo'")
            a.execute("SET search_path = sales")
            after_b = [b.execute(f"SHOW {n}").fetchone()[0] for n in ("application_name", "TimeZone", "search_path")]
            after_a = [a.execute(f"SHOW {n}").fetchone()[0] for n in ("application_name", "TimeZone", "search_path")]
            return {"b_before": before, "b_after": after_b, "a_after": after_a,
                    "b_ts": b.execute("SELECT TIMESTAMPTZ '2026-03-01 00:00:00+00'::text").fetchone()[0]}

    check("psycopg3.set.per_connection", CLIENT, "one session's SET never changes another's", run)


def test_backends():
    def run(server):
        with connect(server) as a, connect(server) as b:
            pid_a, pid_b = a.info.backend_pid, b.info.backend_pid
            own = a.execute("SELECT pg_backend_pid()").fetchone()[0]
            rows = a.execute(
                "SELECT pid, ssl, version, cipher, bits FROM pg_stat_ssl WHERE pid IN (%s, %s) ORDER BY pid",
                (pid_a, pid_b),
            ).fetchall()
            locks = b.execute(
                "SELECT count(*) FROM pg_catalog.pg_locks WHERE transactionid IS NOT NULL"
            ).fetchone()[0]
        return {
            "pg_backend_pid() is the BackendKeyData pid": own == pid_a,
            "the two sessions' pids differ": pid_a != pid_b,
            "pg_stat_ssl lists both, in clear text": [(r[0] in (pid_a, pid_b),) + tuple(r[1:]) for r in rows],
            "no transaction id locks": locks,
        }

    check("psycopg3.startup.backends", CLIENT, "pg_backend_pid, pg_stat_ssl and pg_locks of the sessions", run)


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize("name,sql", cases.ERRORS, ids=[e[0] for e in cases.ERRORS])
@pytest.mark.parametrize("proto", ["extended", "simple"])
def test_error(name, sql, proto):
    def run(server):
        with connect(server) as conn:
            cur = conn.cursor() if proto == "extended" else psycopg.ClientCursor(conn)
            try:
                cur.execute(sql)
                got = {"tag": cur.statusmessage}
            except psycopg.Error as e:
                got = {"error": e.sqlstate, "severity": e.diag.severity}
            got["after"] = rows(cur.execute("SELECT 1::int4").fetchall())
            return got

    check(f"psycopg3.error.{name}.{proto}", CLIENT, f"error {name} ({proto}), connection usable after", run)



# ------------------------------------------------------------------ raw wire values (libpq, no parsing)
RAW = {f"all_types.{c}": f"SELECT {c} FROM clients.all_types ORDER BY id" for c in cases.ALL_TYPES_COLUMNS}
RAW.update({
    "people.signup_at": "SELECT signup_at FROM clients.people ORDER BY id",
    "people.score": "SELECT score FROM clients.people ORDER BY id",
    "expr.float_whole": "SELECT 1.0::float8 AS a, 100::float4 AS b",
    "expr.timestamptz_zone": "SELECT '2026-03-01 10:00:00+02'::timestamptz AS a",
    "expr.numeric_scale": "SELECT 1.50::numeric(10,2) AS a, 0::numeric(5,3) AS b",
    "expr.bool": "SELECT true AS a, false AS b",
})


@pytest.mark.parametrize("name", list(RAW))
@pytest.mark.parametrize("fmt", ["text", "binary"])
def test_raw_wire(name, fmt):
    """The bytes of each value as sent (extended protocol, Bind result format text or binary)."""

    def run(server):
        with connect(server) as conn:
            res = conn.pgconn.exec_params(RAW[name].encode(), [], result_format=1 if fmt == "binary" else 0)
            if res.status != psycopg.pq.ExecStatus.TUPLES_OK:
                return {"error": res.error_field(psycopg.pq.DiagnosticField.SQLSTATE).decode()}
            vals = []
            for r in range(res.ntuples):
                row = []
                for c in range(res.nfields):
                    v = res.get_value(r, c)
                    row.append(None if v is None else (v.hex() if fmt == "binary" else v.decode()))
                vals.append(row)
            return {"oids": [res.ftype(c) for c in range(res.nfields)],
                    "typmods": [res.fmod(c) for c in range(res.nfields)],
                    "formats": [res.fformat(c) for c in range(res.nfields)], "values": vals}

    check(f"psycopg3.wire.{name}.{fmt}", CLIENT, f"raw {fmt} wire values of {name}", run)


def test_row_description_table_oids():
    """RowDescription names the table OID and column number of table columns (pgjdbc, Npgsql use them)."""

    def run(server):
        with connect(server) as conn:
            res = conn.pgconn.exec_params(b"SELECT id, name, 1::int4 AS k FROM clients.people", [])
            with conn.cursor() as cur:
                cur.execute("SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
                            "ON n.oid = c.relnamespace WHERE n.nspname = 'clients' AND c.relname = 'people'")
                oid = cur.fetchone()[0]
            return [[res.ftable(c) == oid, res.ftable(c) == 0, res.ftablecol(c)] for c in range(res.nfields)]

    check("psycopg3.wire.row_description_table_oids", CLIENT, "RowDescription table OID = pg_class.oid, column numbers", run)


def test_mixed_result_formats():
    """Bind asks for per-column result formats (Tableau mixes binary and text)."""

    def run(server):
        with connect(server) as conn:
            res = conn.pgconn.exec_params(b"SELECT id, name, score FROM clients.people WHERE id = 2", [],
                                          result_format=0)
            text = [res.fformat(c) for c in range(res.nfields)]
            pgc = conn.pgconn
            pgc.prepare(b"mixed", b"SELECT id, name, score FROM clients.people WHERE id = 2")
            # libpq sends one result format for all columns; Bind with per-column formats is
            # exercised by pgjdbc (binary for some types, text for others) in test_jdbc.
            res2 = pgc.exec_prepared(b"mixed", [], result_format=1)
            return {"text": text, "binary": [res2.fformat(c) for c in range(res2.nfields)],
                    "values": [res2.get_value(0, c).hex() for c in range(res2.nfields)]}

    check("psycopg3.wire.prepared_binary_formats", CLIENT, "named prepared statement, binary result formats", run)


# ------------------------------------------------------------------ cancel
def test_cancel_request():
    """A CancelRequest stops a running query with 57014; the connection stays usable."""
    import threading

    def run(server):
        with connect(server) as conn:
            timer = threading.Timer(0.5, conn.cancel_safe)
            timer.start()
            try:
                conn.execute("SELECT count(*) FROM generate_series(1, 100000) AS a(x) "
                             "CROSS JOIN generate_series(1, 100000) AS b(y)").fetchall()
                got = {"error": None}
            except psycopg.Error as e:
                got = {"error": e.sqlstate}
            finally:
                timer.cancel()
            # No timing in the observation (tests never assert on time): how
            # soon the query stops is a benchmark's question. The case's own
            # timeout (60 s) only keeps a query that never stops from hanging.
            got["after"] = rows(conn.execute("SELECT 1::int4").fetchall())
            return got

    check("psycopg3.cancel.running_query", CLIENT, "CancelRequest stops a running query (57014)", run,
          timeout=60)


def test_pg_cancel_backend():
    """pg_cancel_backend(pid) from another session stops a running query with 57014."""
    import threading

    def run(server):
        with connect(server) as conn, connect(server) as other:
            pid = conn.info.backend_pid
            timer = threading.Timer(0.5, lambda: other.execute("SELECT pg_cancel_backend(%s)", (pid,)))
            timer.start()
            try:
                conn.execute("SELECT count(*) FROM generate_series(1, 100000) AS a(x) "
                             "CROSS JOIN generate_series(1, 100000) AS b(y)").fetchall()
                got = {"error": None}
            except psycopg.Error as e:
                got = {"error": e.sqlstate}
            finally:
                timer.join()
            got["after"] = rows(conn.execute("SELECT 1::int4").fetchall())
            # A pid that is no session's: false.
            got["unknown pid"] = other.execute("SELECT pg_cancel_backend(2147483000)").fetchone()[0]
            return got

    check("psycopg3.cancel.pg_cancel_backend", CLIENT, "pg_cancel_backend stops another session's query (57014)",
          run, timeout=60)


def test_pg_terminate_backend():
    """pg_terminate_backend(pid) closes another session; its next statement fails with 57P01."""
    import time

    def run(server):
        with connect(server) as conn, connect(server) as other:
            pid = conn.info.backend_pid
            got = {"terminated": other.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]}
            # The connection's end reaches the client asynchronously (no
            # timing is observed: the loop only waits for it to happen).
            for _ in range(100):
                if other.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()[0] == 0:
                    break
                time.sleep(0.05)
            try:
                conn.execute("SELECT 1")
                got["next statement"] = "answered"
            except psycopg.Error as e:
                got["next statement"] = (type(e).__name__, e.sqlstate)
            got["closed"] = conn.closed
            got["other still serves"] = other.execute("SELECT 1::int4").fetchone()[0]
            got["unknown pid"] = other.execute("SELECT pg_terminate_backend(2147483000)").fetchone()[0]
            return got

    check("psycopg3.cancel.pg_terminate_backend", CLIENT, "pg_terminate_backend closes another session (57P01)",
          run, timeout=60)


def test_regclass_follows_search_path():
    sql = ("SELECT c.oid::regclass FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
           "ON n.oid = c.relnamespace WHERE n.nspname = 'clients' AND c.relname = 'people'")

    def run(server):
        with connect(server) as conn:
            before = conn.execute(sql).fetchone()[0]
            conn.execute("SET search_path = clients, public")
            after = conn.execute(sql).fetchone()[0]
        return {"qualified off the path": before, "bare on it": after}

    check("psycopg3.set.regclass_search_path", CLIENT, "x::regclass names a relation as the search_path sees it", run)


def test_pg_stat_activity():
    # wait_event is left out: PostgreSQL's is ClientRead or NULL for an idle
    # session depending on when it is read.
    def run(server):
        with connect(server) as a, connect(server) as b:
            a.execute("SET application_name = 'conn-a'")
            a.execute("SELECT 1")
            a.execute("BEGIN")
            a.execute("SELECT 2")
            rows_ = b.execute(
                "SELECT pid = %s AS is_a, datname::text, datid = (SELECT oid FROM pg_database WHERE datname = current_database()) AS datid, "
                "usename::text, usesysid = (SELECT oid FROM pg_roles WHERE rolname = current_user) AS usesysid, "
                "application_name, client_addr IS NOT NULL AS addr, client_port > 0 AS port, backend_type, state, query, "
                "backend_start <= now() AS started, xact_start IS NOT NULL AS in_xact, query_start >= backend_start AS q, "
                "state_change >= backend_start AS sc, leader_pid "
                "FROM pg_stat_activity WHERE pid IN (%s, %s) ORDER BY pid = %s DESC",
                (a.info.backend_pid, a.info.backend_pid, b.info.backend_pid, a.info.backend_pid),
            ).fetchall()
            a.execute("ROLLBACK")
            after = b.execute("SELECT state, query, xact_start IS NULL FROM pg_stat_activity WHERE pid = %s",
                              (a.info.backend_pid,)).fetchall()
        return {"rows": rows(rows_), "after rollback": rows(after)}

    check("psycopg3.startup.pg_stat_activity", CLIENT, "pg_stat_activity: state, query and settings of each session", run)
