-- DBeaver: connect-and-browse queries of its PostgreSQL navigator, replayed through pgjdbc
-- (DBeaver uses pgjdbc). Format: see metabase.sql.

-- case: startup
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/dbeaver.rs (recorded DBeaver 25.1 startup)
SET extra_float_digits = 3;
SET application_name = 'PostgreSQL JDBC Driver';
SET application_name = 'DBeaver 25.1.5 - Main <laketap>';
SELECT current_schema(),session_user;
SHOW search_path;

-- case: namespaces
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/dbeaver.rs (navigator: schemas with descriptions)
-- normalise: drop-schemas=nspname; columns=nspname,description
SELECT n.oid,n.*,d.description FROM pg_catalog.pg_namespace n LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=n.oid AND d.objsubid=0 AND d.classoid='pg_namespace'::regclass ORDER BY nspname;

-- case: array_type_1034
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/dbeaver.rs (type resolution of oid 1034)
SELECT n.nspname = ANY(current_schemas(true)), n.nspname, t.typname FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON t.typnamespace = n.oid WHERE t.oid = 1034;

-- case: array_in_type
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/dbeaver.rs (pgjdbc TypeInfoCache lookup as sent by DBeaver)
SELECT typinput='pg_catalog.array_in'::regproc as is_array, typtype, typname, pg_type.oid   FROM pg_catalog.pg_type   LEFT JOIN (select ns.oid as nspoid, ns.nspname, r.r           from pg_namespace as ns           join ( select s.r, (current_schemas(false))[s.r] as nspname                    from generate_series(1, array_upper(current_schemas(false), 1)) as s(r) ) as r          using ( nspname )        ) as sp     ON sp.nspoid = typnamespace  WHERE pg_type.oid = 1034  ORDER BY sp.r, pg_type.oid DESC;

-- case: database
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/dbeaver.rs (database node; name adapted to laketap)
-- normalise: columns=datname
SELECT db.oid,db.* FROM pg_catalog.pg_database db WHERE datname='laketap';

-- case: keywords
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/dbeaver.rs (SQL editor keywords; exclusion list shortened)
-- normalise: mask=string_agg
SELECT string_agg(word, ',' ) from pg_catalog.pg_get_keywords() where word <> ALL ('{a,abs,absolute,action}');

-- case: version
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/dbeaver.rs
-- normalise: mask=version
SELECT version();

-- case: enum_probe
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/dbeaver.rs
SELECT * FROM pg_catalog.pg_enum WHERE 1<>1 LIMIT 1;

-- case: reltype_probe
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/dbeaver.rs
SELECT reltype FROM pg_catalog.pg_class WHERE 1<>1 LIMIT 1;

-- case: data_types
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/dbeaver.rs (navigator: data types)
-- normalise: keep=typname~^(bool|bytea|int2|int4|int8|float4|float8|numeric|text|varchar|date|time|timestamp|timestamptz|interval|json|jsonb|uuid|_int4|_text)$; columns=typname,typtype,typcategory,relkind,base_type_name
SELECT t.oid,t.*,c.relkind,format_type(nullif(t.typbasetype, 0), t.typtypmod) as base_type_name, d.description FROM pg_catalog.pg_type t LEFT OUTER JOIN pg_catalog.pg_type et ON et.oid=t.typelem LEFT OUTER JOIN pg_catalog.pg_class c ON c.oid=t.typrelid LEFT OUTER JOIN pg_catalog.pg_description d ON t.oid=d.objoid WHERE t.typname IS NOT NULL AND (c.relkind IS NULL OR c.relkind = 'c') AND (et.typcategory IS NULL OR et.typcategory <> 'C');

-- case: columns_of_table
-- source: dbeaver/dbeaver plugins/org.jkiss.dbeaver.ext.postgresql/src/org/jkiss/dbeaver/ext/postgresql/model/PostgreSchema.java (TableCache prepareChildrenStatement, with sequences; `c.oid=?` bound to clients.people)
-- normalise: keep=attnum~^[1-9]; columns=relname,attname,attnum,atttypid,attnotnull,def_value,description,objid
SELECT c.relname,a.*,pg_catalog.pg_get_expr(ad.adbin, ad.adrelid, true) as def_value,dsc.description,dep.objid
FROM pg_catalog.pg_attribute a
INNER JOIN pg_catalog.pg_class c ON (a.attrelid=c.oid)
LEFT OUTER JOIN pg_catalog.pg_attrdef ad ON (a.attrelid=ad.adrelid AND a.attnum = ad.adnum)
LEFT OUTER JOIN pg_catalog.pg_description dsc ON (c.oid=dsc.objoid AND a.attnum = dsc.objsubid)
LEFT OUTER JOIN pg_depend dep on dep.refobjid = a.attrelid AND dep.deptype = 'i' and dep.refobjsubid = a.attnum and dep.classid = dep.refclassid
WHERE NOT a.attisdropped AND c.relkind not in ('i','I','c') AND c.oid='clients.people'::regclass
ORDER BY a.attnum;
