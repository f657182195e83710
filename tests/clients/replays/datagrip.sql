-- DataGrip: its startup burst (connect, then introspection of databases, schemas, roles,
-- tablespaces and types), replayed through pgjdbc (DataGrip uses pgjdbc). Format: see
-- metabase.sql. The texts are DataGrip 2025.2.3's, as logged by PostgreSQL and listed in
-- datafusion-contrib/datafusion-postgres issue #165 and its test.

-- case: startup
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/datagrip.rs (recorded DataGrip 2025.2.3 startup, issue #165)
-- normalise: mask=version
SET extra_float_digits = 3;
SET application_name = '';
select version();
SET application_name = 'DataGrip 2025.2.3';
select current_database() as a, current_schemas(false) as b;
SHOW TRANSACTION ISOLATION LEVEL;

-- case: startup_time
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/datagrip.rs (server start probe)
-- normalise: mask=startup_time
select round(extract(epoch from pg_postmaster_start_time() at time zone 'UTC')) as startup_time;

-- case: transaction_ids
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/datagrip.rs (oldest open transaction, current transaction id)
-- normalise: mask=current_txid
select L.transactionid::varchar::bigint as transaction_id
        from pg_catalog.pg_locks L
        where L.transactionid is not null
        order by pg_catalog.age(L.transactionid) desc
        limit 1;
select case
          when pg_catalog.pg_is_in_recovery()
            then null
          else
            (pg_catalog.txid_current() % 4294967296)::varchar::bigint
          end as current_txid;

-- case: databases
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/datagrip.rs (database list)
-- normalise: keep=name~^laketap$; columns=name,is_template,allow_connections
select N.oid::bigint as id,
               datname as name,
               D.description,
               datistemplate as is_template,
               datallowconn as allow_connections,
               pg_catalog.pg_get_userbyid(N.datdba) as "owner"
        from pg_catalog.pg_database N
          left join pg_catalog.pg_shdescription D on N.oid = D.objoid
        order by case when datname = pg_catalog.current_database() then -1::bigint else N.oid::bigint end;

-- case: schemas
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/datagrip.rs (schema list)
-- normalise: drop-schemas=name; keep=name~^(clients|sales|kpi)$; columns=name,description
select N.oid::bigint as id,
               N.xmin as state_number,
               nspname as name,
               D.description,
               pg_catalog.pg_get_userbyid(N.nspowner) as "owner"
        from pg_catalog.pg_namespace N
          left join pg_catalog.pg_description D on N.oid = D.objoid
        order by case when nspname = pg_catalog.current_schema() then -1::bigint else N.oid::bigint end;

-- case: type_28
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/datagrip.rs (pgjdbc TypeInfoCache lookup of oid 28)
SELECT typinput='pg_catalog.array_in'::regproc as is_array, typtype, typname, pg_type.oid   FROM pg_catalog.pg_type   LEFT JOIN (select ns.oid as nspoid, ns.nspname, r.r           from pg_namespace as ns           join ( select s.r, (current_schemas(false))[s.r] as nspname                    from generate_series(1, array_upper(current_schemas(false), 1)) as s(r) ) as r          using ( nspname )        ) as sp     ON sp.nspoid = typnamespace  WHERE pg_type.oid = '28'  ORDER BY sp.r, pg_type.oid DESC;

-- case: date_style
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/datagrip.rs
show DateStyle;

-- case: time_zones
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/datagrip.rs (zone names for the session settings)
-- normalise: keep=name~^(UTC|Europe/Paris|America/New_York|Asia/Kolkata)$
select name, is_dst from pg_catalog.pg_timezone_names
        union distinct
        select abbrev as name, is_dst from pg_catalog.pg_timezone_abbrevs;

-- case: roles
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/datagrip.rs (role list)
-- normalise: keep=role_name~^laketap$; columns=role_name,is_super,can_login,conn_limit,valid_until,description
select R.oid::bigint as role_id, rolname as role_name,
          rolsuper is_super, rolinherit is_inherit,
          rolcreaterole can_createrole, rolcreatedb can_createdb,
          rolcanlogin can_login, rolreplication /* false */ is_replication,
          rolconnlimit conn_limit, rolvaliduntil valid_until,
          rolbypassrls /* false */ bypass_rls, rolconfig config,
          D.description
        from pg_catalog.pg_roles R
          left join pg_catalog.pg_shdescription D on D.objoid = R.oid;

-- case: role_members
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/datagrip.rs (role memberships)
-- normalise: columns=admin_option
select member id, roleid role_id, admin_option
                  from pg_catalog.pg_auth_members order by id, roleid::text;

-- case: tablespaces
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/datagrip.rs (tablespaces, ACLs)
-- normalise: columns=name,location,options,comment
select T.oid::bigint as id, T.spcname as name,
               T.xmin as state_number, pg_catalog.pg_get_userbyid(T.spcowner) as owner,
               pg_catalog.pg_tablespace_location(T.oid) /* null */ as location,
               T.spcoptions /* null */ as options,
               D.description as comment
        from pg_catalog.pg_tablespace T
          left join pg_catalog.pg_shdescription D on D.objoid = T.oid;

-- case: array_types
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/datagrip.rs (pgjdbc TypeInfoCache: int4[] and its element)
SELECT typinput='pg_catalog.array_in'::regproc as is_array, typtype, typname, pg_type.oid   FROM pg_catalog.pg_type   LEFT JOIN (select ns.oid as nspoid, ns.nspname, r.r           from pg_namespace as ns           join ( select s.r, (current_schemas(false))[s.r] as nspname                    from generate_series(1, array_upper(current_schemas(false), 1)) as s(r) ) as r          using ( nspname )        ) as sp     ON sp.nspoid = typnamespace  WHERE pg_type.oid = '1034'  ORDER BY sp.r, pg_type.oid DESC;
SELECT e.typdelim FROM pg_catalog.pg_type t, pg_catalog.pg_type e WHERE t.oid = '1034' and t.typelem = e.oid;
SELECT e.oid, n.nspname = ANY(current_schemas(true)), n.nspname, e.typname FROM pg_catalog.pg_type t JOIN pg_catalog.pg_type e ON t.typelem = e.oid JOIN pg_catalog.pg_namespace n ON t.typnamespace = n.oid WHERE t.oid = '1034';

-- case: ssl
-- source: datafusion-contrib/datafusion-postgres datafusion-postgres/tests/datagrip.rs (whether the session is encrypted)
select ssl from pg_stat_ssl where pid = pg_backend_pid();
