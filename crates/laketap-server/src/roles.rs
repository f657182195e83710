//! PostgreSQL's role catalogs from laketap's users and roles: `pg_roles`,
//! `pg_user`, `pg_auth_members` and `pg_get_userbyid`.
//!
//! datafusion-pg-catalog's `pg_roles` is empty (no context provider gives it
//! roles), so psql `\du` listed nobody and pgjdbc's privilege listings, which
//! join `pg_class.relowner` to `pg_roles.oid`, found no rows. Here:
//!
//! - OID 10, `postgres`, is the owner of every relation, schema and database
//!   (PostgreSQL's bootstrap superuser: `relowner`, `nspowner`, `datdba` and
//!   `pg_get_userbyid` already named it). It can log in only when a user of
//!   that name is configured (or is the no-users default's user).
//! - Each login user follows from OID 16384 in name order; it is a superuser
//!   when it is an admin.
//! - Each `[roles.NAME]` is a role that cannot log in, after the users; a
//!   user's roles are its memberships in `pg_auth_members`.
//! - PostgreSQL 16's predefined roles (`pg_monitor`, `pg_read_all_data`, ...)
//!   are listed with their fixed OIDs, and `pg_monitor`'s three memberships,
//!   as every PostgreSQL database has them: clients look them up (DataGrip
//!   reads `pg_auth_members` at connect). They grant nothing here: laketap's
//!   privileges come from `[roles.NAME]` only, and no user is their member.
//!   A configured user or role of the same name takes the name's place.
//!
//! The rows are computed at each scan from the users in force, so a reloaded
//! configuration shows at once. OIDs follow names, so a reload that adds a
//! user can renumber the ones after it, as they are not stored anywhere.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Int32Array, ListBuilder, RecordBatch, StringArray, StringBuilder,
    TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::{Session, TableProvider};
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, TableType, Volatility,
};
use datafusion::physical_plan::ExecutionPlan;

use crate::auth::{Auth, Directory};

/// The owner of every relation, schema and database.
pub const OWNER_OID: i32 = 10;
/// Its name, PostgreSQL's bootstrap superuser's.
pub const OWNER_NAME: &str = "postgres";
/// The first OID of a user or role (PostgreSQL's FirstNormalObjectId).
const FIRST_OID: i32 = 16384;

/// PostgreSQL 16's predefined roles and their OIDs (`pg_authid.dat`).
const PREDEFINED: &[(i32, &str)] = &[
    (3373, "pg_monitor"),
    (3374, "pg_read_all_settings"),
    (3375, "pg_read_all_stats"),
    (3377, "pg_stat_scan_tables"),
    (4200, "pg_signal_backend"),
    (4544, "pg_checkpoint"),
    (4550, "pg_use_reserved_connections"),
    (4569, "pg_read_server_files"),
    (4570, "pg_write_server_files"),
    (4571, "pg_execute_server_program"),
    (6171, "pg_database_owner"),
    (6181, "pg_read_all_data"),
    (6182, "pg_write_all_data"),
    (6304, "pg_create_subscription"),
];

/// `pg_monitor`'s memberships (`pg_auth_members.dat`): (member, role).
const PREDEFINED_MEMBERS: &[(&str, &[&str])] = &[(
    "pg_monitor",
    &[
        "pg_read_all_settings",
        "pg_read_all_stats",
        "pg_stat_scan_tables",
    ],
)];

/// One row of `pg_roles`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogRole {
    pub oid: i32,
    pub name: String,
    pub superuser: bool,
    /// The owner: it may also create roles and databases, replicate and
    /// bypass row security, as PostgreSQL's bootstrap superuser.
    pub owner: bool,
    pub login: bool,
    /// OIDs of the roles it is a member of.
    pub member_of: Vec<i32>,
}

/// The roles of `directory`: the owner, the predefined roles, the login
/// users, then the configured roles, in OID order.
pub fn catalog_roles(directory: &Directory) -> Vec<CatalogRole> {
    let logins = directory.logins();
    let configured = |name: &str| {
        name == OWNER_NAME
            || logins.iter().any(|(user, _, _)| user == name)
            || directory.roles().contains_key(name)
    };
    let predefined: BTreeMap<&str, i32> = PREDEFINED
        .iter()
        .filter(|(_, name)| !configured(name))
        .map(|(oid, name)| (*name, *oid))
        .collect();
    let mut rows = vec![CatalogRole {
        oid: OWNER_OID,
        name: OWNER_NAME.to_string(),
        superuser: true,
        owner: true,
        login: logins.iter().any(|(name, _, _)| name == OWNER_NAME),
        member_of: Vec::new(),
    }];
    for (name, oid) in &predefined {
        let member_of = PREDEFINED_MEMBERS
            .iter()
            .filter(|(member, _)| member == name)
            .flat_map(|(_, roles)| roles.iter().filter_map(|r| predefined.get(r).copied()))
            .collect();
        rows.push(CatalogRole {
            oid: *oid,
            name: name.to_string(),
            superuser: false,
            owner: false,
            login: false,
            member_of,
        });
    }
    // OIDs by name: the owner, then the users, then the roles not named
    // like one of them.
    let mut oids: BTreeMap<&str, i32> = BTreeMap::from([(OWNER_NAME, OWNER_OID)]);
    let names = logins
        .iter()
        .map(|(name, _, _)| name.as_str())
        .chain(directory.roles().keys().map(String::as_str));
    for name in names {
        let next = FIRST_OID + (oids.len() as i32 - 1);
        oids.entry(name).or_insert(next);
    }
    for (name, admin, roles) in &logins {
        let member_of: Vec<i32> = roles
            .iter()
            .filter(|role| *role != name)
            .filter_map(|role| oids.get(role.as_str()).copied())
            .collect();
        if name == OWNER_NAME {
            rows[0].member_of = member_of;
            continue;
        }
        rows.push(CatalogRole {
            oid: oids[name.as_str()],
            name: name.clone(),
            superuser: *admin,
            owner: false,
            login: true,
            member_of,
        });
    }
    for (name, admin) in directory.roles() {
        // A role named like a user (or the owner) is that user's row.
        if name == OWNER_NAME || logins.iter().any(|(user, _, _)| user == name) {
            continue;
        }
        rows.push(CatalogRole {
            oid: oids[name.as_str()],
            name: name.clone(),
            superuser: *admin,
            owner: false,
            login: false,
            member_of: Vec::new(),
        });
    }
    rows.sort_by_key(|r| r.oid);
    rows
}

/// Which role catalog a [`RolesTable`] shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleCatalog {
    /// `pg_roles`: every role.
    Roles,
    /// `pg_user`: the roles that can log in, in pg_user's columns.
    Users,
    /// `pg_auth_members`: one row per membership.
    Members,
}

/// `pg_roles`, `pg_user` or `pg_auth_members`, from the users in force.
#[derive(Debug)]
pub struct RolesTable {
    auth: Arc<Auth>,
    which: RoleCatalog,
    schema: SchemaRef,
}

/// An `oid` column (described as oid, not int4).
pub(crate) fn oid_field(name: &str) -> Field {
    Field::new(name, DataType::Int32, true).with_metadata(std::collections::HashMap::from([(
        arrow_pg::datatypes::PG_OID_ALIAS_KEY.to_string(),
        "oid".to_string(),
    )]))
}

/// An `xid` column: a transaction id, unsigned 32-bit (described as xid).
pub(crate) fn xid_field(name: &str) -> Field {
    Field::new(name, DataType::UInt32, true).with_metadata(std::collections::HashMap::from([(
        arrow_pg::datatypes::PG_OID_ALIAS_KEY.to_string(),
        "xid".to_string(),
    )]))
}

fn text_array() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
}

fn timestamptz() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from("UTC")))
}

impl RolesTable {
    pub fn new(auth: Arc<Auth>, which: RoleCatalog) -> Self {
        let boolean = |name: &str| Field::new(name, DataType::Boolean, true);
        let fields = match which {
            RoleCatalog::Roles => vec![
                Field::new("rolname", DataType::Utf8, true),
                boolean("rolsuper"),
                boolean("rolinherit"),
                boolean("rolcreaterole"),
                boolean("rolcreatedb"),
                boolean("rolcanlogin"),
                boolean("rolreplication"),
                Field::new("rolconnlimit", DataType::Int32, true),
                Field::new("rolpassword", DataType::Utf8, true),
                Field::new("rolvaliduntil", timestamptz(), true),
                boolean("rolbypassrls"),
                Field::new("rolconfig", text_array(), true),
                oid_field("oid"),
            ],
            RoleCatalog::Users => vec![
                Field::new("usename", DataType::Utf8, true),
                oid_field("usesysid"),
                boolean("usecreatedb"),
                boolean("usesuper"),
                boolean("userepl"),
                boolean("usebypassrls"),
                Field::new("passwd", DataType::Utf8, true),
                Field::new("valuntil", timestamptz(), true),
                Field::new("useconfig", text_array(), true),
            ],
            RoleCatalog::Members => vec![
                oid_field("oid"),
                oid_field("roleid"),
                oid_field("member"),
                oid_field("grantor"),
                boolean("admin_option"),
                boolean("inherit_option"),
                boolean("set_option"),
            ],
        };
        RolesTable {
            auth,
            which,
            schema: Arc::new(Schema::new(fields)),
        }
    }

    fn batch(&self) -> DfResult<RecordBatch> {
        let roles = catalog_roles(&self.auth.current());
        let n = |rows: &[&CatalogRole]| rows.len();
        let flags = |rows: &[&CatalogRole], f: fn(&CatalogRole) -> bool| {
            Arc::new(BooleanArray::from_iter(rows.iter().map(|r| Some(f(r))))) as ArrayRef
        };
        let names = |rows: &[&CatalogRole]| {
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.name.as_str()),
            )) as ArrayRef
        };
        let oids = |rows: &[&CatalogRole]| {
            Arc::new(Int32Array::from_iter_values(rows.iter().map(|r| r.oid))) as ArrayRef
        };
        let hidden_password = |count: usize| {
            Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
                "********", count,
            ))) as ArrayRef
        };
        let no_time = |count: usize| {
            Arc::new(
                TimestampMicrosecondArray::from(vec![None; count]).with_timezone(Arc::from("UTC")),
            ) as ArrayRef
        };
        let no_config = |count: usize| {
            let mut builder = ListBuilder::new(StringBuilder::new());
            for _ in 0..count {
                builder.append_null();
            }
            Arc::new(builder.finish()) as ArrayRef
        };
        let columns: Vec<ArrayRef> = match self.which {
            RoleCatalog::Roles => {
                let rows: Vec<&CatalogRole> = roles.iter().collect();
                vec![
                    names(&rows),
                    flags(&rows, |r| r.superuser),
                    flags(&rows, |_| true),
                    flags(&rows, |r| r.owner),
                    flags(&rows, |r| r.owner),
                    flags(&rows, |r| r.login),
                    flags(&rows, |r| r.owner),
                    Arc::new(Int32Array::from(vec![-1; n(&rows)])),
                    hidden_password(n(&rows)),
                    no_time(n(&rows)),
                    flags(&rows, |r| r.owner),
                    no_config(n(&rows)),
                    oids(&rows),
                ]
            }
            RoleCatalog::Users => {
                let rows: Vec<&CatalogRole> = roles.iter().filter(|r| r.login).collect();
                vec![
                    names(&rows),
                    oids(&rows),
                    flags(&rows, |r| r.owner),
                    flags(&rows, |r| r.superuser),
                    flags(&rows, |r| r.owner),
                    flags(&rows, |r| r.owner),
                    hidden_password(n(&rows)),
                    no_time(n(&rows)),
                    no_config(n(&rows)),
                ]
            }
            RoleCatalog::Members => {
                let pairs: Vec<(i32, i32)> = roles
                    .iter()
                    .flat_map(|r| r.member_of.iter().map(move |role| (*role, r.oid)))
                    .collect();
                let count = pairs.len();
                // Membership rows get OIDs after the roles'.
                let first = roles.iter().map(|r| r.oid).max().unwrap_or(FIRST_OID) + 1;
                vec![
                    Arc::new(Int32Array::from_iter_values(
                        (0..count).map(|i| first + i as i32),
                    )),
                    Arc::new(Int32Array::from_iter_values(pairs.iter().map(|p| p.0))),
                    Arc::new(Int32Array::from_iter_values(pairs.iter().map(|p| p.1))),
                    Arc::new(Int32Array::from(vec![OWNER_OID; count])),
                    Arc::new(BooleanArray::from(vec![false; count])),
                    Arc::new(BooleanArray::from(vec![true; count])),
                    Arc::new(BooleanArray::from(vec![true; count])),
                ]
            }
        };
        Ok(RecordBatch::try_new(self.schema.clone(), columns)?)
    }
}

#[async_trait::async_trait]
impl TableProvider for RolesTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[datafusion::logical_expr::Expr],
        _limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        Ok(
            datafusion::datasource::memory::MemorySourceConfig::try_new_exec(
                &[vec![self.batch()?]],
                self.schema.clone(),
                projection.cloned(),
            )?,
        )
    }
}

/// `pg_get_userbyid(oid)`: the role's name, or PostgreSQL's
/// `unknown (OID=n)` for an OID that is no role.
#[derive(Debug)]
pub struct UserByIdUdf {
    auth: Arc<Auth>,
    signature: Signature,
}

impl UserByIdUdf {
    pub fn new(auth: Arc<Auth>) -> Self {
        UserByIdUdf {
            auth,
            signature: Signature::one_of(
                vec![
                    datafusion::logical_expr::TypeSignature::Exact(vec![DataType::Int32]),
                    datafusion::logical_expr::TypeSignature::Exact(vec![DataType::Int64]),
                ],
                Volatility::Stable,
            ),
        }
    }
}

impl PartialEq for UserByIdUdf {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.auth, &other.auth)
    }
}

impl Eq for UserByIdUdf {}

impl std::hash::Hash for UserByIdUdf {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name().hash(state);
    }
}

impl ScalarUDFImpl for UserByIdUdf {
    fn name(&self) -> &str {
        "pg_get_userbyid"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        use datafusion::arrow::array::{Array, AsArray};
        use datafusion::arrow::datatypes::Int64Type;
        let names: BTreeMap<i32, String> = catalog_roles(&self.auth.current())
            .into_iter()
            .map(|r| (r.oid, r.name))
            .collect();
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let oids = datafusion::arrow::compute::cast(&arrays[0], &DataType::Int64)?;
        let oids = oids.as_primitive::<Int64Type>();
        let mut out = StringBuilder::with_capacity(oids.len(), 0);
        for i in 0..oids.len() {
            if oids.is_null(i) {
                out.append_null();
                continue;
            }
            let oid = oids.value(i);
            match i32::try_from(oid).ok().and_then(|oid| names.get(&oid)) {
                Some(name) => out.append_value(name),
                None => out.append_value(format!("unknown (OID={oid})")),
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{AuthMethod, RoleConfig, UserConfig};

    fn user(name: &str, roles: &[&str]) -> UserConfig {
        UserConfig {
            name: name.to_string(),
            password_env: Some("LAKETAP_ROLES_TEST_PASSWORD".to_string()),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            ..UserConfig::default()
        }
    }

    /// The roles that are neither PostgreSQL's predefined ones nor the owner.
    fn laketaps(directory: &Directory) -> Vec<CatalogRole> {
        catalog_roles(directory)
            .into_iter()
            .filter(|r| !PREDEFINED.iter().any(|(oid, _)| *oid == r.oid))
            .collect()
    }

    #[test]
    fn the_trust_user_is_a_login_superuser_after_the_owner() {
        let roles = laketaps(&Directory::trust("laketap"));
        assert_eq!(
            roles,
            vec![
                CatalogRole {
                    oid: 10,
                    name: "postgres".into(),
                    superuser: true,
                    owner: true,
                    login: false,
                    member_of: vec![],
                },
                CatalogRole {
                    oid: 16384,
                    name: "laketap".into(),
                    superuser: true,
                    owner: false,
                    login: true,
                    member_of: vec![],
                },
            ]
        );
        // A trust user named postgres is the owner, and logs in.
        let roles = laketaps(&Directory::trust("postgres"));
        assert_eq!(roles.len(), 1);
        assert!(roles[0].login && roles[0].owner);
    }

    #[test]
    fn users_and_roles_get_oids_by_name_and_memberships() {
        let roles = BTreeMap::from([
            (
                "analyst".to_string(),
                RoleConfig {
                    read: vec!["kpi".into()],
                    ..RoleConfig::default()
                },
            ),
            (
                "admin".to_string(),
                RoleConfig {
                    admin: true,
                    ..RoleConfig::default()
                },
            ),
        ]);
        let users = [
            user("zoe", &["analyst"]),
            user("ann", &["admin", "analyst"]),
        ];
        let directory = Directory::from_config(AuthMethod::ScramSha256, &users, &roles, |_| {
            Some("secret".to_string())
        })
        .expect("valid configuration");
        let rows = laketaps(&directory);
        let summary: Vec<(i32, &str, bool, bool, Vec<i32>)> = rows
            .iter()
            .map(|r| {
                (
                    r.oid,
                    r.name.as_str(),
                    r.superuser,
                    r.login,
                    r.member_of.clone(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (10, "postgres", true, false, vec![]),
                (16384, "ann", true, true, vec![16386, 16387]),
                (16385, "zoe", false, true, vec![16387]),
                (16386, "admin", true, false, vec![]),
                (16387, "analyst", false, false, vec![]),
            ]
        );
    }

    #[test]
    fn predefined_roles_are_postgresqls_and_a_configured_name_wins() {
        let roles = catalog_roles(&Directory::trust("laketap"));
        let predefined: Vec<(i32, &str, bool, bool)> = roles
            .iter()
            .filter(|r| r.oid != OWNER_OID && r.oid < FIRST_OID)
            .map(|r| (r.oid, r.name.as_str(), r.login, r.superuser))
            .collect();
        assert_eq!(predefined.len(), 14);
        assert_eq!(predefined[0], (3373, "pg_monitor", false, false));
        assert_eq!(
            predefined[13],
            (6304, "pg_create_subscription", false, false)
        );
        let monitor = roles.iter().find(|r| r.oid == 3373).map(|r| &r.member_of);
        assert_eq!(monitor, Some(&vec![3374, 3375, 3377]));
        // OIDs ascend: the owner, the predefined roles, then laketap's.
        let oids: Vec<i32> = roles.iter().map(|r| r.oid).collect();
        assert!(oids.windows(2).all(|w| w[0] < w[1]), "{oids:?}");

        // A configured role named pg_monitor replaces the predefined one, and
        // pg_monitor's memberships go with it.
        let configured = BTreeMap::from([("pg_monitor".to_string(), RoleConfig::default())]);
        let directory = Directory::from_config(
            AuthMethod::ScramSha256,
            &[user("ann", &["pg_monitor"])],
            &configured,
            |_| Some("secret".to_string()),
        )
        .expect("valid configuration");
        let roles = catalog_roles(&directory);
        let monitors: Vec<&CatalogRole> = roles.iter().filter(|r| r.name == "pg_monitor").collect();
        assert_eq!(monitors.len(), 1);
        assert_eq!(monitors[0].oid, 16385);
        assert!(monitors[0].member_of.is_empty());
        let ann = roles.iter().find(|r| r.name == "ann").map(|r| &r.member_of);
        assert_eq!(ann, Some(&vec![16385]));
        assert!(roles.iter().any(|r| r.name == "pg_read_all_stats"));
    }
}
