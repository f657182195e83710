"""Shared case data: the fixture's columns, bound values per type, settings, error statements."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from uuid import UUID

# clients.all_types columns (tests/clients/make_lake.py)
ALL_TYPES_COLUMNS = [
    "c_int2", "c_int4", "c_int8", "c_float4", "c_float8", "c_numeric", "c_text", "c_bool",
    "c_date", "c_time", "c_timestamp", "c_timestamptz", "c_bytea", "c_int_arr", "c_text_arr",
]

# Every table and view of the fixture, with a deterministic order.
TABLE_QUERIES = {
    "people": "SELECT * FROM clients.people ORDER BY id",
    "metrics": "SELECT * FROM clients.metrics ORDER BY ts, host",
    "orders": "SELECT * FROM sales.orders ORDER BY order_id",
    "view_people_by_country": "SELECT * FROM kpi.people_by_country ORDER BY country",
}

TZ_PLUS2 = dt.timezone(dt.timedelta(hours=2))

# (name, Python value, PostgreSQL type it is cast to). Drivers wrap the value as they need.
PARAM_VALUES = [
    ("int2", -12345, "int2"),
    ("int4", 2147483647, "int4"),
    ("int8", -9223372036854775807, "int8"),
    ("float4", 1.5, "float4"),
    ("float8", 3.141592653589793, "float8"),
    ("numeric", Decimal("12345678901234567890.123456789"), "numeric"),
    ("numeric_scale", Decimal("1.10"), "numeric(10,2)"),
    ("text", "Grüße 世界 😀 'q' \"dq\" \\ end", "text"),
    ("varchar", "varchar value", "varchar"),
    ("bool", True, "bool"),
    ("date", dt.date(2026, 3, 1), "date"),
    ("time", dt.time(8, 30, 0, 123456), "time"),
    ("timestamp", dt.datetime(2026, 3, 1, 8, 30, 0, 123456), "timestamp"),
    ("timestamptz", dt.datetime(2026, 3, 1, 10, 30, 0, 123456, tzinfo=TZ_PLUS2), "timestamptz"),
    ("interval", dt.timedelta(days=1, hours=2, minutes=3, seconds=4, microseconds=5), "interval"),
    ("bytea", b"\x00\xde\xad\xbe\xef\xff", "bytea"),
    ("json", {"a": [1, 2, None], "b": "ü"}, "json"),
    ("jsonb", {"a": 1, "b": [True, False]}, "jsonb"),
    ("uuid", UUID("6f1d3a52-9a0e-4c55-8a55-1a4e7a11e7a9"), "uuid"),
    ("int4_array", [1, 2, None, 4], "int4[]"),
    ("text_array", ["a", "b c", None, "ü", ""], "text[]"),
    ("null", None, "int4"),
]

# (setting, value to SET, a query whose text answer depends on it, or None)
SETTINGS = [
    ("application_name", "'laketap-clients'", None),
    ("extra_float_digits", "3", "SELECT (0.1::float8 * 3)::text AS v"),
    ("DateStyle", "'SQL, DMY'", "SELECT DATE '2026-03-01'::text AS v"),
    ("IntervalStyle", "'iso_8601'", "SELECT INTERVAL '1 day 2 hours'::text AS v"),
    ("client_encoding", "'UTF8'", None),
    ("TimeZone", "'Europe/Paris'", "SELECT TIMESTAMPTZ '2026-03-01 12:00:00+00'::text AS v"),
    ("search_path", "clients, public", "SELECT count(*) AS v FROM people"),
    ("statement_timeout", "'5s'", None),
    ("standard_conforming_strings", "on", "SELECT 'a\\b'::text AS v"),
]

# The settings clients read back; SHOW ALL is compared on these.
SHOW_ALL_NAMES = [
    "application_name", "client_encoding", "DateStyle", "extra_float_digits", "IntervalStyle",
    "search_path", "server_encoding", "standard_conforming_strings", "statement_timeout",
    "TimeZone", "integer_datetimes", "transaction_isolation", "default_transaction_isolation",
    "max_identifier_length", "lc_collate",
]

# (case, statement): errors both servers must raise with the same SQLSTATE.
ERRORS = [
    ("syntax", "SELEC 1"),
    ("undefined_table", "SELECT * FROM clients.nope"),
    ("undefined_column", "SELECT nope FROM clients.people"),
    ("undefined_function", "SELECT nope_fn(1)"),
    ("regclass_of_unknown_name", "SELECT relname::regclass FROM (SELECT 'clients.nope' AS relname) AS t"),
    ("regtype_of_unknown_name", "SELECT name::regtype FROM (SELECT 'nosuchtype' AS name) AS t"),
    ("division_by_zero", "SELECT 1::int4 / 0::int4"),
    ("invalid_text", "SELECT 'abc'::int4"),
    ("unsupported_extension", "CREATE EXTENSION nope_ext"),
]

# Functions clients call at connect or when browsing (issue 3, point 6).
FUNCTIONS = {
    "version_format": "SELECT version() ~ '^PostgreSQL [0-9]+(\\.[0-9]+)? ' AS v",
    "current_setting_timezone": "SELECT current_setting('TimeZone') AS v",
    "current_setting_missing_ok": "SELECT current_setting('laketap_nope.x', true) AS v",
    "current_setting_server_version_num": "SELECT current_setting('server_version_num')::int4 >= 90000 AS v",
    "pg_get_serial_sequence": "SELECT pg_get_serial_sequence('clients.people', 'id') AS v",
    "unnest_int": "SELECT unnest(ARRAY[1, 2, 3]::int4[]) AS v",
    "unnest_text": "SELECT unnest(ARRAY['a', 'b']::text[]) AS v",
    "unnest_catalog_indkey": (
        "SELECT unnest(i.indkey) AS v FROM pg_catalog.pg_index i "
        "JOIN pg_catalog.pg_class c ON c.oid = i.indrelid "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'clients'"
    ),
    "bytea_hex_literal": "SELECT '\\xdeadbeef'::bytea AS v",
    "bytea_escape_literal": "SELECT 'ab'::bytea AS v",
    "timestamptz_literal": "SELECT '2026-03-01 10:00:00.123456+02'::timestamptz AS v",
    "timestamptz_text": "SELECT '2026-03-01 10:00:00.123456+02'::timestamptz::text AS v",
    "timestamp_text_zero_fraction": "SELECT '2026-03-01 10:00:00'::timestamp::text AS v",
    "current_schema": "SELECT current_schema() AS v",
    "current_database": "SELECT current_database() AS v",
    "current_user": "SELECT current_user AS v",
    "session_user": "SELECT session_user AS v",
    "pg_backend_pid": "SELECT pg_backend_pid() > 0 AS v",
    "pg_typeof": "SELECT pg_typeof(1::int8)::text AS v",
    "format_type": "SELECT format_type(1700, 786436) AS v",
    "to_regclass": "SELECT to_regclass('clients.people')::text AS v",
    "regclass_cast": "SELECT 'clients.people'::regclass::text AS v",
    "regtype_names": "SELECT 'int4'::regtype AS a, 'double precision'::regtype AS b, 'int4[]'::regtype AS c, "
                     "'integer'::regtype::text AS d, 'text'::regtype::oid AS e, NULL::regtype AS f",
    "regtype_unnamed": "SELECT 'timestamptz'::regtype, 23::regtype",
    "oid_casts": "SELECT 25::oid AS a, '1259'::oid AS b, 'text'::regtype::oid",
    "row_types": "SELECT c.relname::text AS rel, t.typtype::text AS typtype, t.typrelid = c.oid AS same, "
                 "t.typname::text AS typ, t.typcategory::text AS cat FROM pg_catalog.pg_class c JOIN pg_catalog.pg_type t ON t.oid = c.reltype "
                 "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('clients', 'sales') ORDER BY 1",
    "regtype_text_names": "SELECT 'inet'::regtype::text AS a, 600::regtype::text AS b, format_type(869, NULL) AS c, "
                          "'TEXT'::regtype AS d, 'numeric(10,2)'::regtype AS e, 'pg_catalog.int4'::regtype AS f",
    "reg_from_text_columns": "SELECT (n.nspname || '.' || c.relname)::regclass AS r, t.typname::regtype AS t "
                             "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                             "JOIN pg_catalog.pg_type t ON t.typname = 'int8' "
                             "WHERE n.nspname = 'clients' AND c.relname = 'people'",
    "max_connections": "SELECT current_setting('max_connections')::int > 0 AS v, "
                       "(SELECT count(*) FROM pg_settings WHERE name = 'max_connections') AS n",
    "regtype_zero_and_numbers": "SELECT 0::regtype AS z, '23'::regtype AS n, '1259'::regclass AS c, 0::regclass AS zc",
    "timestamptz_difference": "SELECT now() - pg_postmaster_start_time() > interval '0' AS up, "
                              "(SELECT count(*) FROM clients.all_types WHERE now() - c_timestamptz > interval '1 day') AS old",
    "timestamp_difference": "SELECT c_timestamp - timestamp '2026-01-01' AS d, "
                            "(c_timestamp - timestamp '2026-01-01') > interval '1 day' AS more, "
                            "timestamp '2026-01-01' - c_timestamp AS neg, "
                            "c_timestamptz - timestamptz '2026-01-01 00:00:00+02' AS z FROM clients.all_types ORDER BY id",
    "regclass_names": "SELECT 'pg_class'::regclass AS a, 'clients.people'::regclass AS b, "
                      "'pg_catalog.pg_type'::regclass AS c, 'clients.people'::regclass::oid > 0 AS d",
    "regclass_columns": "SELECT c.oid::regclass, c.relname::text FROM pg_catalog.pg_class c "
                        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                        "WHERE n.nspname IN ('clients', 'sales', 'pg_catalog') AND c.relname IN ('people', 'orders', 'pg_attribute') "
                        "ORDER BY 2",
    "regtype_columns": "SELECT t.oid::regtype, t.typname::text FROM pg_catalog.pg_type t "
                       "WHERE t.typname IN ('xid', '_varchar', 'bpchar', 'char', 'timestamptz', 'float4') ORDER BY t.typname",
    "regtype_of_lake_columns": "SELECT a.attname::text, a.atttypid::regtype AS type FROM pg_catalog.pg_attribute a "
                               "JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                               "WHERE n.nspname = 'clients' AND c.relname = 'all_types' AND a.attnum > 0 ORDER BY a.attnum",
    "regtype_grouped_by_position": "SELECT t.typlen, min(t.oid)::regtype AS first FROM pg_catalog.pg_type t "
                                   "WHERE t.typname IN ('int4', 'int8', 'float8') GROUP BY 1 ORDER BY 1",
    "obj_description": "SELECT obj_description('clients.people'::regclass, 'pg_class') AS v",
    "col_description": "SELECT col_description('clients.people'::regclass, 3) AS v",
    "has_table_privilege": "SELECT has_table_privilege('clients.people', 'SELECT') AS v",
    "has_schema_privilege": "SELECT has_schema_privilege('clients', 'USAGE') AS v",
    "pg_encoding_to_char": "SELECT pg_encoding_to_char(6) AS v",
    "quote_ident": "SELECT quote_ident('a b') AS v",
    "array_to_string": "SELECT array_to_string(ARRAY[1, 2, 3]::int4[], ',') AS v",
    "string_to_array": "SELECT string_to_array('a,b,c', ',') AS v",
    "generate_series": "SELECT generate_series(1, 3) AS v",
    "coalesce_null": "SELECT coalesce(NULL::text, 'x') AS v",
    "untyped_literals": "SELECT 1 AS i, 1.5 AS n, 'x' AS t, true AS b, NULL AS z",
    "numeric_precision": "SELECT 1.10::numeric(10,2) AS a, 123456789012345678901234567890.123::numeric AS b",
    "float_text": "SELECT 0.1::float8 AS a, 1e300::float8 AS b, 'NaN'::float8 AS c, 'Infinity'::float8 AS d, 1.5::float4 AS e",
    "interval_text": "SELECT INTERVAL '1 day 02:03:04.000005' AS v",
    "date_infinity": "SELECT 'infinity'::date::text AS v",
    "unicode": "SELECT 'Grüße 世界 😀' AS v, length('Grüße 世界 😀') AS n",
    "count_star_type": "SELECT count(*) AS v FROM clients.people",
    "sum_int8_type": "SELECT sum(id) AS v FROM clients.people",
    "avg_type": "SELECT avg(id) AS v FROM clients.people",
    "numeric_division": "SELECT amount / 3 AS t, amount / order_id AS u, sum(amount) OVER () / count(*) OVER () AS m,"
                        " 10::numeric / 4 AS n, 1.0 / 3 AS third, 2.0 / 3 AS up, -2.0 / 3 AS away"
                        " FROM sales.orders ORDER BY order_id",
    "numeric_division_equal_leading_digits": "SELECT 6.0 / 6 AS one, 12.0 / 6 AS two",
    "avg_numeric": "SELECT status, avg(amount) AS am, avg(person_id) AS ap, sum(person_id) / count(*) AS r, avg(DISTINCT person_id) AS d"
                   " FROM sales.orders GROUP BY status ORDER BY status",
    "avg_all_types": "SELECT avg(c_int4) AS a4, avg(c_int2) AS a2, avg(c_int8) AS a8, avg(c_numeric) AS an,"
                     " avg(c_float8) AS af, avg(c_float4) AS af4 FROM clients.all_types",
    "avg_window": "SELECT order_id, avg(amount) OVER (ORDER BY order_id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS m,"
                  " avg(order_id) OVER (PARTITION BY status) AS s FROM sales.orders ORDER BY order_id",
    "decimal_literals": "SELECT 0.1 + 0.2 AS s, 1.10 * 3 AS p, 19.99 AS price, -0.5 AS neg, 1e3 AS e, 2.5e-3 AS small,"
                        " 1e300::float8 AS big, 0.1::float8 + 0.2 AS f, pg_typeof(0.5)::text AS t",
    "float_meets_numeric": "SELECT id, coalesce(score, 0.0) AS c, CASE WHEN score > 8 THEN score ELSE 0.0 END AS k,"
                           " greatest(score, 0.5) AS g, nullif(score, 8.0) AS n, score = 9.5 AS e,"
                           " score BETWEEN 6.5 AND 8.0 AS b, score IN (9.5, 8.0) AS i FROM clients.people ORDER BY id",
    "float_any_numeric_array": "SELECT id FROM clients.people WHERE score = ANY(ARRAY[7.25, 8]) ORDER BY id",
    "float_meets_numeric_union": "SELECT score FROM clients.people UNION ALL SELECT 0.5 UNION ALL"
                                 " SELECT x FROM (VALUES (1.5::float8), (0.25)) v(x) ORDER BY 1",
    "float_meets_numeric_exact": "SELECT coalesce(c_float8, 0.0) AS c, coalesce(1e16::float8, 0.0) AS big,"
                                 " 0.1::float4 = 0.1 AS f4, c_float4 + 0.1 AS f4sum, (10.0 / 3)::float8 AS q"
                                 " FROM clients.all_types ORDER BY id",
    "width_bucket": "SELECT id, width_bucket(score, 5.0, 10.0, 5) AS b, width_bucket(amount, 200, 0, 4) AS r,"
                    " ceiling(score) AS c, sign(score - 8) AS s FROM clients.people JOIN sales.orders ON person_id = id"
                    " ORDER BY id, order_id",
    "width_bucket_bad_count": "SELECT width_bucket(score, 0, 10, 0) FROM clients.people",
    "percentile_disc_mode": "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY score) AS median,"
                            " percentile_disc(0.9) WITHIN GROUP (ORDER BY signup_at DESC) AS late,"
                            " mode() WITHIN GROUP (ORDER BY country) AS top_country,"
                            " percentile_cont(0.5) WITHIN GROUP (ORDER BY score) AS cont FROM clients.people",
    "percentile_disc_grouped": "SELECT status, percentile_disc(0.5) WITHIN GROUP (ORDER BY amount) AS m,"
                               " mode() WITHIN GROUP (ORDER BY person_id DESC) AS p FROM sales.orders GROUP BY status ORDER BY status",
    "stddev_distinct_alone": "SELECT stddev(DISTINCT value) AS s, var_samp(DISTINCT value / 7) AS v FROM clients.metrics",
    "quotient_cast": "SELECT (10::numeric / 4)::numeric(30,20) AS c, avg(amount)::numeric(20,4) AS a,"
                     " CASE score WHEN 9.5 THEN 'top' WHEN 8.0 THEN 'mid' ELSE 'other' END AS k"
                     " FROM clients.people JOIN sales.orders ON person_id = id GROUP BY id, score ORDER BY id",
    "numeric_division_by_zero": "SELECT amount / (order_id - order_id) AS z FROM sales.orders",
    "to_char_timestamp": "SELECT to_char(signup_at, 'YYYY-MM-DD HH24:MI:SS') AS v, to_char(signup_at, 'FMDay DDth Mon YYYY, HH12 am') AS w"
                         " FROM clients.people ORDER BY id",
    "to_char_date": "SELECT to_char(DATE '2026-03-02', 'IYYY-\"W\"IW Q DDD') AS v",
    "row_number_type": "SELECT id, row_number() OVER (ORDER BY id DESC) AS r, rank() OVER (ORDER BY country) AS k"
                       " FROM clients.people ORDER BY id",
    "age": "SELECT age(TIMESTAMP '2026-03-01 10:00:00', signup_at) AS v, age(DATE '2026-03-02', DATE '2000-02-29') AS w"
           " FROM clients.people ORDER BY id",
    "age_text": "SELECT age(TIMESTAMP '2026-03-01 10:00:00', signup_at)::text AS v FROM clients.people ORDER BY id",
    "case_mixed_types": "SELECT CASE WHEN id > 2 THEN id ELSE score END AS c, CASE id WHEN 1 THEN 1 ELSE 0.5::float8 END AS d"
                        " FROM clients.people ORDER BY id",
    "union_mixed_types": "SELECT * FROM (SELECT id AS x FROM clients.people WHERE id = 1 UNION ALL SELECT score FROM clients.people WHERE id = 2) u ORDER BY x",
    "at_time_zone": "SELECT c_timestamptz AT TIME ZONE 'Europe/Paris' AS wall, c_timestamp AT TIME ZONE 'America/New_York' AS instant,"
                    " date_trunc('day', c_timestamptz AT TIME ZONE 'Asia/Tokyo') AS day FROM clients.all_types ORDER BY id",
    "timestamp_without_seconds": "SELECT TIMESTAMP '2026-03-31 10:00' AS t, count(*) AS n FROM clients.people WHERE signup_at >= '2026-01-06 10:30'",
    "date_today": "SELECT 'today'::date = current_date AS t, 'yesterday'::date < 'tomorrow'::date AS u",
    "fetch_first": "SELECT id FROM clients.people ORDER BY id OFFSET 1 FETCH FIRST 2 ROWS ONLY",
    "mod_date_interval": "SELECT mod(id, 3) AS m, DATE '2026-03-31' + INTERVAL '1 month' AS d FROM clients.people ORDER BY id",
    "variance": "SELECT variance(score) AS v, stddev(score) AS s FROM clients.people",
    "regression": "SELECT corr(score, id) AS c, covar_pop(score, id) AS cp, covar_samp(score, id) AS cs,"
                  " regr_slope(score, id) AS slope, regr_intercept(score, id) AS i, regr_r2(score, id) AS r2,"
                  " regr_avgx(score, id) AS ax, regr_avgy(score, id) AS ay, regr_sxx(score, id) AS sxx,"
                  " regr_syy(score, id) AS syy, regr_sxy(score, id) AS sxy, regr_count(score, id) AS n FROM clients.people",
    "variance_grouped": "SELECT host, variance(value) AS v, var_pop(value) AS vp, stddev_pop(value) AS sp,"
                        " stddev_samp(value / 3) AS ss FROM clients.metrics GROUP BY host ORDER BY host",
    "stddev_window": "SELECT host, ts, stddev(value / 7) OVER (PARTITION BY host ORDER BY ts"
                     " ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) AS moving FROM clients.metrics ORDER BY host, ts",
    "variance_distinct_null_rules": "SELECT var_samp(DISTINCT CASE WHEN host = 'a' THEN value / 3 ELSE value / 30 END) AS d,"
                                    " var_samp(value) FILTER (WHERE value = 1) AS one, var_pop(value) FILTER (WHERE value = 1) AS pop,"
                                    " corr(value, 2.5) AS flat, regr_r2(2.5, value) AS r2 FROM clients.metrics",
    "correlated_subquery": "SELECT p.id, (SELECT count(*) FROM sales.orders o WHERE o.person_id = p.id) AS n,"
                           " (SELECT max(o.amount) FROM sales.orders o WHERE o.person_id = p.id) AS m FROM clients.people p ORDER BY p.id",
    "subquery_many_rows": "SELECT p.id, (SELECT o.order_id FROM sales.orders o) AS any FROM clients.people p",
    "subquery_one_row": "SELECT p.id, (SELECT max(o.order_id) FROM sales.orders o) AS top FROM clients.people p ORDER BY p.id",
    "exists_flag": "SELECT p.id, EXISTS (SELECT 1 FROM sales.orders o WHERE o.person_id = p.id AND o.amount > 50) AS big,"
                   " NOT EXISTS (SELECT 1 FROM sales.orders o WHERE o.person_id = p.id) AS none,"
                   " EXISTS (SELECT 1 FROM sales.orders o WHERE o.person_id = p.id AND o.amount < 1) FROM clients.people p ORDER BY p.id",
    "date_part_type": "SELECT date_part('hour', signup_at) AS h, date_part('year', signup_at) AS y FROM clients.people ORDER BY id",
}

VERSION_RE = re.compile(r"^PostgreSQL \d+(\.\d+)? ")
SERVER_VERSION_RE = re.compile(r"^\d+(\.\d+)?( .*)?$")
