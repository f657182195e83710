-- Grafana's PostgreSQL data source: the table and column pickers and a time-series panel,
-- replayed through psycopg 3's extended protocol (Grafana's backend uses a Go driver with the
-- extended protocol). Format: see metabase.sql.

-- case: version
-- source: grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts (getVersion)
-- normalise: mask=version
SELECT current_setting('server_version_num')::int/100 as version;

-- case: timescaledb
-- source: grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts (getTimescaleDBVersion)
SELECT extversion FROM pg_extension WHERE extname = 'timescaledb';

-- case: schemas
-- source: grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts (showSchemas)
-- normalise: drop-schemas=name
SELECT schema_name AS "name"
    FROM information_schema.schemata
    WHERE schema_name NOT IN ('information_schema',
                              'pg_catalog',
                              'pg_toast',
                              '_timescaledb_cache',
                              '_timescaledb_catalog',
                              '_timescaledb_internal',
                              '_timescaledb_config',
                              'timescaledb_information',
                              'timescaledb_experimental')
    ORDER BY schema_name;

-- case: tables_of_schema
-- source: grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts (showTables(schema) with 'clients')
SELECT quote_ident(table_name) AS "table"
      FROM information_schema.tables
      WHERE quote_ident(table_schema) = 'clients'
      ORDER BY 1;

-- case: tables_search_path
-- source: grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts (showTables() with buildSchemaConstraint)
-- normalise: drop-prefix=table:laketap.
SELECT
    CASE WHEN
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )
      THEN quote_ident(table_name)
      ELSE quote_ident(table_schema) || '.' || quote_ident(table_name)
    END AS "table"
    FROM information_schema.tables
    WHERE quote_ident(table_schema) NOT IN ('information_schema',
                             'pg_catalog',
                             '_timescaledb_cache',
                             '_timescaledb_catalog',
                             '_timescaledb_internal',
                             '_timescaledb_config',
                             'timescaledb_information',
                             'timescaledb_experimental')
    ORDER BY CASE WHEN
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          ) THEN 0 ELSE 1 END, 1;

-- case: columns_qualified
-- source: grafana/grafana public/app/plugins/datasource/grafana-postgresql-datasource/postgresMetaQuery.ts (getSchema('clients.metrics'))
SELECT quote_ident(column_name) AS "column", data_type AS "type"
    FROM information_schema.columns
    WHERE
      CASE WHEN array_length(parse_ident('clients.metrics'),1) = 2
        THEN quote_ident(table_schema) = (parse_ident('clients.metrics'))[1]
          AND quote_ident(table_name) = (parse_ident('clients.metrics'))[2]
        ELSE quote_ident(table_name) = 'clients.metrics'
          AND
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )
      END;

-- case: columns_simple
-- source: information_schema.columns as Grafana's SQL builder reads it (postgresMetaQuery.ts getSchema, reduced to its information_schema part)
SELECT quote_ident(column_name) AS "column", data_type AS "type" FROM information_schema.columns WHERE table_schema = 'clients' AND table_name = 'all_types' ORDER BY ordinal_position;

-- case: time_series
-- source: grafana/grafana pkg/tsdb/grafana-postgresql-datasource/macros.go ($__timeGroupAlias(ts, 5m), $__timeFilter(ts) over 2026-03-01 00:00:00Z..00:20:00Z)
SELECT floor(extract(epoch from ts)/300)*300 AS "time", host AS metric, avg(value) AS value
FROM clients.metrics
WHERE ts BETWEEN '2026-03-01T00:00:00Z' AND '2026-03-01T00:20:00Z'
GROUP BY 1, 2
ORDER BY 1, 2;

-- case: time_series_epoch
-- source: grafana/grafana pkg/tsdb/grafana-postgresql-datasource/macros.go ($__timeEpoch(ts))
SELECT extract(epoch from ts) as "time", value FROM clients.metrics WHERE host = 'a' ORDER BY 1;
