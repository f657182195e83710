-- Tableau through psqlODBC (simple query protocol, libpq): recorded connect-and-browse
-- traffic, replayed through psycopg2. `-- batch` sends the block as one Query message, as
-- psqlODBC does with its `BEGIN;declare ... cursor ...;fetch ...` batches (the harness
-- compares the last result). Table names adapted: users/accounts/transactions -> people,
-- schema public -> clients. Format: see metabase.sql.

-- case: connectivity
-- source: Aircloak/aircloak integration_tests/test/tableau_test.exs (simple queries for testing connectivity)
-- batch
 seLect  
  -1234
;

-- case: connectivity_float
-- source: Aircloak/aircloak integration_tests/test/tableau_test.exs
SELECT  
 34.457::float ;

-- case: table_list_cursor
-- source: Aircloak/aircloak integration_tests/test/tableau_test.exs (tableau table list query)
-- normalise: drop-schemas=nspname
-- batch
BEGIN;declare "SQL_CUR04645D10" cursor for select relname, nspname, relkind from pg_catalog.pg_class c, pg_catalog.pg_namespace n where relkind in ('r', 'v') and nspname not in ('pg_catalog', 'information_schema', 'pg_toast', 'pg_temp_1') and n.oid = relnamespace order by nspname, relname;fetch 2048 in "SQL_CUR04645D10";

-- case: table_info
-- source: Aircloak/aircloak integration_tests/test/tableau_test.exs (tableau table info query; relhasoids dropped: removed in PostgreSQL 12)
-- normalise: mask=oid
select n.nspname, c.relname, a.attname, a.atttypid, t.typname, a.attnum, a.attlen, a.atttypmod, a.attnotnull, c.relhasrules, c.relkind, c.oid, pg_get_expr(d.adbin, d.adrelid), case t.typtype when 'd' then t.typbasetype else 0 end, t.typtypmod from (((pg_catalog.pg_class c inner join pg_catalog.pg_namespace n on n.oid = c.relnamespace and c.relname = 'people') inner join pg_catalog.pg_attribute a on (not a.attisdropped) and a.attnum > 0 and a.attrelid = c.oid) inner join pg_catalog.pg_type t on t.oid = a.atttypid) left outer join pg_attrdef d on a.atthasdef and d.adrelid = a.attrelid and d.adnum = a.attnum order by n.nspname, c.relname, attnum;

-- case: table_schemas
-- source: Aircloak/aircloak integration_tests/test/tableau_test.exs (table schema query)
-- normalise: drop-schemas=table_schem
SELECT nspname AS TABLE_SCHEM, NULL AS TABLE_CATALOG FROM pg_catalog.pg_namespace  WHERE nspname <> 'pg_toast' AND (nspname !~ '^pg_temp_'  OR nspname = (pg_catalog.current_schemas(true))[1]) AND (nspname !~ '^pg_toast_temp_'  OR nspname = replace((pg_catalog.current_schemas(true))[1], 'pg_temp_', 'pg_toast_temp_'))  ORDER BY TABLE_SCHEM;

-- case: indexed_columns_cursor
-- source: Aircloak/aircloak integration_tests/test/tableau_test.exs (tableau query for indexed columns)
-- batch
BEGIN;declare "SQL_CUR04AD8270" cursor for select ta.attname, ia.attnum, ic.relname, n.nspname, tc.relname from pg_catalog.pg_attribute ta, pg_catalog.pg_attribute ia, pg_catalog.pg_class tc, pg_catalog.pg_index i, pg_catalog.pg_namespace n, pg_catalog.pg_class ic where tc.relname = 'people' AND n.nspname = 'clients' AND tc.oid = i.indrelid AND n.oid = tc.relnamespace AND i.indisprimary = 't' AND ia.attrelid = i.indexrelid AND ta.attrelid = i.indrelid AND ta.attnum = i.indkey[ia.attnum-1] AND (NOT ta.attisdropped) AND (NOT ia.attisdropped) AND ic.oid = i.indexrelid order by ia.attnum;fetch 2048 in "SQL_CUR04AD8270";

-- case: related_fields_cursor
-- source: Aircloak/aircloak integration_tests/test/tableau_test.exs (tableau query for related fields; d.relhasoids dropped: removed in PostgreSQL 12)
-- batch
BEGIN;declare "SQL_CUR06145EE8" cursor for select c.relname, i.indkey, i.indisunique, i.indisclustered, a.amname, c.relhasrules, n.nspname, c.oid, 0 from pg_catalog.pg_index i, pg_catalog.pg_class c, pg_catalog.pg_class d, pg_catalog.pg_am a, pg_catalog.pg_namespace n where d.relname = 'people' and n.nspname = 'clients' and n.oid = d.relnamespace and d.oid = i.indrelid and i.indexrelid = c.oid and c.relam = a.oid order by i.indisprimary desc, i.indisunique, n.nspname, c.relname;fetch 2048 in "SQL_CUR06145EE8";

-- case: inherits_regclass
-- source: Aircloak/aircloak integration_tests/test/tableau_test.exs (selecting a regclass value)
SELECT c.oid::pg_catalog.regclass FROM pg_catalog.pg_class c, pg_catalog.pg_inherits i WHERE c.oid=i.inhparent AND i.inhrelid = '18119' ORDER BY inhseqno;

-- case: deallocate
-- source: Aircloak/aircloak integration_tests/test/tableau_test.exs (deallocate statement)
DEALLOCATE "foobar";

-- case: current_schema
-- source: Aircloak/aircloak integration_tests/test/tableau_test.exs (select current schema)
select current_schema();

-- case: lc_collate
-- source: Aircloak/aircloak integration_tests/test/tableau_test.exs (show lc_collate)
show "lc_collate";

-- case: temp_table_probe
-- source: Aircloak/aircloak integration_tests/test/tableau_test.exs (selecting into a temporary table: Tableau's temp-table capability probe)
-- statement does not return rows
SELECT *
INTO TEMPORARY TABLE "#Tableau_5_1_Connect"
FROM (SELECT 1 AS COL) AS CHECKTEMP
LIMIT 1;
