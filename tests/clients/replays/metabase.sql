-- Metabase: connect-and-browse queries, replayed through pgjdbc (Metabase uses pgjdbc).
-- Each `-- case:` block runs on one connection, statement by statement (a statement ends
-- with `;` at the end of a line). `-- normalise:` lines tell the harness what is compared
-- (tests/clients/README.md). Table and schema names are adapted to the fixture.

-- case: startup_sets
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/metabase.rs (recorded Metabase v0.55 startup)
SET extra_float_digits = 2;
SET application_name = 'Metabase v0.55.1 [f8f63fdf-d8f8-4573-86ea-4fe4a9548041]';
SHOW TRANSACTION ISOLATION LEVEL;
SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ UNCOMMITTED;
SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED;

-- case: schemas
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/metabase.rs (pgjdbc getSchemas as sent by Metabase)
-- normalise: drop-schemas=TABLE_SCHEM
SELECT nspname AS "TABLE_SCHEM", current_database() AS "TABLE_CATALOG" FROM pg_catalog.pg_namespace  WHERE nspname <> 'pg_toast' AND (nspname !~ '^pg_temp_'  OR nspname = (pg_catalog.current_schemas(true))[1]) AND (nspname !~ '^pg_toast_temp_'  OR nspname = replace((pg_catalog.current_schemas(true))[1], 'pg_temp_', 'pg_toast_temp_'))  ORDER BY "TABLE_SCHEM";

-- case: table_privileges
-- source: metabase/metabase src/metabase/driver/postgres.clj (sql-jdbc.sync/current-user-table-privileges)
-- normalise: drop-schemas=schema
with table_privileges as (
 select
   NULL as role,
   t.schemaname as schema,
   t.objectname as table,
   pg_catalog.has_table_privilege(current_user, '"' || t.schemaname || '"' || '.' || '"' || t.objectname || '"',  'update') as update,
   pg_catalog.has_table_privilege(current_user, '"' || t.schemaname || '"' || '.' || '"' || t.objectname || '"',  'select') as select,
   pg_catalog.has_table_privilege(current_user, '"' || t.schemaname || '"' || '.' || '"' || t.objectname || '"',  'insert') as insert,
   pg_catalog.has_table_privilege(current_user, '"' || t.schemaname || '"' || '.' || '"' || t.objectname || '"',  'delete') as delete
 from (
   select schemaname, tablename as objectname from pg_catalog.pg_tables
   union
   select schemaname, viewname as objectname from pg_catalog.pg_views
   union
   select schemaname, matviewname as objectname from pg_catalog.pg_matviews
 ) t
 where t.schemaname !~ '^pg_'
   and t.schemaname <> 'information_schema'
   and pg_catalog.has_schema_privilege(current_user, t.schemaname, 'usage')
)
select t.*
from table_privileges t;

-- case: table_privileges_any_column
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/metabase.rs (Metabase v0.55 variant with has_any_column_privilege)
-- normalise: drop-schemas=schema
with table_privileges as (
 select
   NULL as role,
   t.schemaname as schema,
   t.objectname as table,
   pg_catalog.has_any_column_privilege(current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'update') as update,
   pg_catalog.has_any_column_privilege(current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'select') as select,
   pg_catalog.has_any_column_privilege(current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'insert') as insert,
   pg_catalog.has_table_privilege(     current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'delete') as delete
 from (
   select schemaname, tablename as objectname from pg_catalog.pg_tables
   union
   select schemaname, viewname as objectname from pg_catalog.pg_views
   union
   select schemaname, matviewname as objectname from pg_catalog.pg_matviews
 ) t
 where t.schemaname !~ '^pg_'
   and t.schemaname <> 'information_schema'
   and pg_catalog.has_schema_privilege(current_user, t.schemaname, 'usage')
)
select t.*
from table_privileges t;

-- case: describe_database
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/metabase.rs (Metabase sync: tables with descriptions and row estimates)
-- normalise: mask=estimated_row_count
SELECT "n"."nspname" AS "schema", "c"."relname" AS "name", CASE "c"."relkind" WHEN 'r' THEN 'TABLE' WHEN 'p' THEN 'PARTITIONED TABLE' WHEN 'v' THEN 'VIEW' WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE NULL END AS "type", "d"."description" AS "description", "stat"."n_live_tup" AS "estimated_row_count" FROM "pg_catalog"."pg_class" AS "c" INNER JOIN "pg_catalog"."pg_namespace" AS "n" ON "c"."relnamespace" = "n"."oid" LEFT JOIN "pg_catalog"."pg_description" AS "d" ON ("c"."oid" = "d"."objoid") AND ("d"."objsubid" = '0') AND ("d"."classoid" = 'pg_class'::regclass) LEFT JOIN "pg_stat_user_tables" AS "stat" ON ("n"."nspname" = "stat"."schemaname") AND ("c"."relname" = "stat"."relname") WHERE ("c"."relnamespace" = "n"."oid") AND ("n"."nspname" !~ '^pg_') AND ("n"."nspname" <> 'information_schema') AND c.relkind in ('r', 'p', 'v', 'f', 'm') AND ("n"."nspname" IN ('clients', 'kpi', 'sales')) ORDER BY "type" ASC, "schema" ASC, "name" ASC;

-- case: enum_types
-- source: metabase/metabase src/metabase/driver/postgres.clj (enum-types, before describe-table)
SELECT nspname, typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.oid IN (SELECT DISTINCT enumtypid FROM pg_enum e);

-- case: default_timezone
-- source: metabase/metabase src/metabase/driver/postgres.clj (driver/db-default-timezone)
show timezone;

-- case: set_session_timezone
-- source: metabase/metabase src/metabase/driver/postgres.clj (sql-jdbc.execute/set-timezone-sql "SET SESSION TIMEZONE TO %s;")
SET SESSION TIMEZONE TO 'Europe/Paris';
SELECT TIMESTAMPTZ '2026-03-01 12:00:00+00'::text AS t;

-- case: query_time_bucket
-- source: metabase/metabase src/metabase/driver/postgres.clj (date-trunc, ->timestamp: a "count by hour" question)
SELECT date_trunc('hour', CAST("clients"."metrics"."ts" AS timestamp)) AS "ts", count(*) AS "count" FROM "clients"."metrics" GROUP BY date_trunc('hour', CAST("clients"."metrics"."ts" AS timestamp)) ORDER BY date_trunc('hour', CAST("clients"."metrics"."ts" AS timestamp)) ASC;
