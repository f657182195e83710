-- Superset (SQLAlchemy over psycopg2, simple query protocol): catalog listing, SQL Lab
-- prequeries and a chart query with its time grain. Format: see metabase.sql.

-- case: catalogs
-- source: apache/superset superset/db_engine_specs/postgres.py (PostgresEngineSpec.get_catalog_names)
SELECT datname FROM pg_database
WHERE datistemplate = false;

-- case: sqllab_search_path
-- source: apache/superset superset/db_engine_specs/postgres.py (get_prequeries: set search_path = "schema")
set search_path = "clients";
SELECT count(*) AS n FROM people;

-- case: cancel_query_id
-- source: apache/superset superset/db_engine_specs/postgres.py (get_cancel_query_id)
-- normalise: mask=pg_backend_pid
SELECT pg_backend_pid();

-- case: chart_time_grain
-- source: apache/superset superset/db_engine_specs/postgres.py (_time_grain_expressions HOUR, convert_dttm TO_TIMESTAMP)
SELECT DATE_TRUNC('hour', ts) AS ts, host AS host, sum(value) AS "SUM(value)"
FROM clients.metrics
WHERE ts >= TO_TIMESTAMP('2026-03-01 00:00:00.000000', 'YYYY-MM-DD HH24:MI:SS.US') AND ts < TO_TIMESTAMP('2026-03-02 00:00:00.000000', 'YYYY-MM-DD HH24:MI:SS.US')
GROUP BY DATE_TRUNC('hour', ts), host
ORDER BY "SUM(value)" DESC
LIMIT 10000;

-- case: chart_date_filter
-- source: apache/superset superset/db_engine_specs/postgres.py (convert_dttm TO_DATE, _time_grain_expressions DAY)
SELECT DATE_TRUNC('day', ordered_on) AS ordered_on, count(*) AS count
FROM sales.orders
WHERE ordered_on >= TO_DATE('2026-03-02', 'YYYY-MM-DD')
GROUP BY DATE_TRUNC('day', ordered_on)
ORDER BY count DESC, ordered_on
LIMIT 100;

-- case: epoch_to_dttm
-- source: apache/superset superset/db_engine_specs/postgres.py (epoch_to_dttm)
SELECT (timestamp 'epoch' + 1772323200 * interval '1 second') AS t;
