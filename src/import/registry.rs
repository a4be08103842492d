//! Reading another application's connection registry: a Prisma-shaped `whatsapp_connections`
//! table (and its users table) in SQLite or PostgreSQL, whatever the exact spellings.
//!
//! Tables and columns are found by name, compared without case or underscores, so that
//! `userId`, `user_id` and `USERID` are one name; `--map role=column` names any of them
//! outright. Every value is read as text (`CAST(… AS TEXT)`), so a column's declared type
//! does not matter: a time may be ISO text, a PostgreSQL timestamp, or integer seconds or
//! milliseconds; a number may be `+57 300 …`, `(57) 300-…` or a JID.

use std::collections::{BTreeMap, HashMap};

use sqlx::{Connection as _, PgConnection, SqliteConnection};

use crate::model::{ImportReport, ImportedValue};
use crate::registry::{LegacyConnection, PhoneNumber, UserKey};
use crate::time::Timestamp;

/// Where to read, and how to read it.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct SourceOptions {
    /// `sqlite:PATH` (or a path) or `postgres://…`.
    pub from: String,
    /// The connections table [default: found by name, e.g. `whatsapp_connections`].
    #[serde(default)]
    pub table: Option<String>,
    /// The users table [default: found by name, e.g. `users` or `User`].
    #[serde(default)]
    pub users_table: Option<String>,
    /// Key tenants by this column of the users table (e.g. `email`) instead of the user id.
    #[serde(default)]
    pub user_key: Option<String>,
    /// `role=column` overrides; roles are listed in [`ROLES`].
    #[serde(default)]
    pub map: Vec<String>,
}

/// What `--map` may name: a column of the connections table, or (`users.`) of the users
/// table, with the spellings tried when it does not.
pub const ROLES: [(&str, &[&str]); 7] = [
    ("user", &["userid", "user", "tenantid", "ownerid"]),
    (
        "phone",
        &["phonenumber", "phone", "number", "msisdn", "jid"],
    ),
    ("status", &["status", "state", "connectionstatus"]),
    (
        "last_connected_at",
        &["lastconnectedat", "lastconnected", "connectedat"],
    ),
    ("created_at", &["createdat", "created"]),
    ("users.id", &["id", "userid"]),
    ("users.created_at", &["createdat", "created"]),
];

const CONNECTION_TABLES: [&str; 3] = ["whatsappconnections", "whatsappconnection", "connections"];
const USER_TABLES: [&str; 2] = ["users", "user"];

/// What the source holds, ready for `Registry::import_connections`, and what it could not
/// take as it was.
#[derive(Debug, Default)]
pub struct SourceData {
    pub connections: Vec<LegacyConnection>,
    /// The report's source-side fields.
    pub report: ImportReport,
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The source cannot be opened or read.
    #[error("cannot read {source_name}: {message}")]
    Unreadable {
        source_name: String,
        message: String,
    },
    /// The source does not look as expected, or an option names what is not there.
    #[error("{0}")]
    Shape(String),
}

enum Source {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

/// Reads `options.from` and imports it into `registry` (see `Registry::import_connections`):
/// the whole report, the source's side and the registry's.
pub async fn import(
    registry: &crate::registry::Registry,
    options: &SourceOptions,
    import: crate::registry::ImportOptions,
) -> Result<ImportReport, ImportError> {
    let data = read(options).await?;
    let written = registry
        .import_connections(&data.report.source, &data.connections, import)
        .await?;
    Ok(ImportReport {
        rows_imported: written.rows_imported,
        users_added: written.users_added,
        users_merged: written.users_merged,
        kept_live: written.kept_live,
        duplicates: written.duplicates,
        dry_run: written.dry_run,
        ..data.report
    })
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Registry(#[from] crate::registry::Error),
}

/// Reads `options.from`.
pub async fn read(options: &SourceOptions) -> Result<SourceData, SourceError> {
    let name = crate::registry::redact(&options.from);
    let unreadable = |error: sqlx::Error| SourceError::Unreadable {
        source_name: name.clone(),
        message: error.to_string(),
    };
    let mut source = open(&options.from).await.map_err(unreadable)?;
    let tables = source.tables().await.map_err(unreadable)?;
    let table = pick_table(
        &tables,
        options.table.as_deref(),
        &CONNECTION_TABLES,
        "--table",
    )?
    .ok_or_else(|| {
        SourceError::Shape(format!(
            "{name} has no connections table such as whatsapp_connections (tables: {}): \
                 name it with --table",
            tables.join(", ")
        ))
    })?;
    let columns = source.columns(&table).await.map_err(unreadable)?;
    let overrides = parse_map(&options.map)?;
    let role = |role: &str| find_column(&columns, &table, role, &overrides);
    let user_column = role("user")?.ok_or_else(|| missing(&table, "user", &columns))?;
    let phone_column = role("phone")?.ok_or_else(|| missing(&table, "phone", &columns))?;
    let wanted = [
        Some(user_column),
        Some(phone_column),
        role("status")?,
        role("last_connected_at")?,
        role("created_at")?,
    ];
    let rows = source.select(&table, &wanted).await.map_err(unreadable)?;

    let users_table = pick_table(
        &tables,
        options.users_table.as_deref(),
        &USER_TABLES,
        "--users-table",
    )?;
    let users = match &users_table {
        Some(users_table) => {
            let columns = source.columns(users_table).await.map_err(unreadable)?;
            let role = |role: &str| find_column(&columns, users_table, role, &overrides);
            let id = role("users.id")?.ok_or_else(|| missing(users_table, "users.id", &columns))?;
            let key = match &options.user_key {
                Some(key) => Some(find_named(&columns, users_table, key)?),
                None => None,
            };
            let created = role("users.created_at")?;
            let picked = [Some(id), key.or(Some(String::new())), created];
            let picked: Vec<Option<String>> = picked
                .into_iter()
                .map(|column| column.filter(|c| !c.is_empty()))
                .collect();
            Some(
                source
                    .select(users_table, &picked)
                    .await
                    .map_err(unreadable)?,
            )
        }
        None if options.user_key.is_some() => {
            return Err(SourceError::Shape(format!(
                "--user-key needs the users table, and {name} has none such as users \
                 (tables: {}): name it with --users-table",
                tables.join(", ")
            )))
        }
        None => None,
    };
    source.close().await;
    Ok(assemble(name, rows, users, options.user_key.is_some()))
}

/// A row of the users table: its tenant key (none when the key column is empty) and when it
/// was created, by id.
type SourceUser = (Option<String>, Option<Timestamp>);

/// Rows into connections: keys resolved through the users table, numbers normalised,
/// times parsed, and whatever could not be taken reported.
fn assemble(
    name: String,
    rows: Vec<Vec<Option<String>>>,
    users: Option<Vec<Vec<Option<String>>>>,
    keyed_by_column: bool,
) -> SourceData {
    let mut report = ImportReport {
        source: name,
        rows_read: rows.len() as u64,
        ..ImportReport::default()
    };
    let users: Option<HashMap<String, SourceUser>> = users.map(|users| {
        users
            .into_iter()
            .filter_map(|user| {
                let id = user.first().cloned().flatten()?;
                let key = if keyed_by_column {
                    user.get(1).cloned().flatten()
                } else {
                    Some(id.clone())
                };
                let created = user.get(2).cloned().flatten().and_then(|t| parse_time(&t));
                Some((id, (key, created)))
            })
            .collect()
    });
    let mut chosen: BTreeMap<String, LegacyConnection> = BTreeMap::new();
    // Users table ids that have a connection row, taken or reported with it.
    let mut with_rows = std::collections::HashSet::new();
    for row in rows {
        let [user, phone, status, last_connected, created] =
            <[Option<String>; 5]>::try_from(row).unwrap_or_default();
        let row_user = user.unwrap_or_default();
        with_rows.insert(row_user.clone());
        let key = match &users {
            Some(users) => match users.get(&row_user) {
                Some((Some(key), _)) => key.clone(),
                _ => {
                    report.users_missing.push(ImportedValue {
                        row: row_user.clone(),
                        value: row_user,
                    });
                    continue;
                }
            },
            None => row_user.clone(),
        };
        let Some(key) = valid_key(&key, &row_user, &mut report) else {
            continue;
        };
        let phone_number = normalise_phone(phone.as_deref(), &key, &mut report);
        let connection = LegacyConnection {
            user: key.clone(),
            phone_number,
            legacy_status: status.filter(|s| !s.trim().is_empty()),
            last_connected_at: last_connected.as_deref().and_then(parse_time),
            created_at: created.as_deref().and_then(parse_time).or_else(|| {
                users
                    .as_ref()
                    .and_then(|users| users.get(&row_user))
                    .and_then(|(_, created)| *created)
            }),
        };
        // One row per user here: the source's most recently connected row wins.
        match chosen.get(&key) {
            Some(kept) if kept.last_connected_at >= connection.last_connected_at => {
                report.repeated_users.push(key);
            }
            Some(_) => {
                report.repeated_users.push(key.clone());
                chosen.insert(key, connection);
            }
            None => {
                chosen.insert(key, connection);
            }
        }
    }
    // Users without a connection row come too, with nothing to connect yet.
    if let Some(users) = &users {
        for (id, (key, created)) in users {
            let Some(key) = key else { continue };
            if with_rows.contains(id) || chosen.contains_key(key) {
                continue;
            }
            let Some(key) = valid_key(key, id, &mut report) else {
                continue;
            };
            // A key that differs from a taken one only by spaces never replaces it.
            chosen.entry(key.clone()).or_insert(LegacyConnection {
                user: key,
                phone_number: None,
                legacy_status: None,
                last_connected_at: None,
                created_at: *created,
            });
        }
    }
    report.repeated_users.sort();
    report.repeated_users.dedup();
    SourceData {
        connections: chosen.into_values().collect(),
        report,
    }
}

fn valid_key(key: &str, row: &str, report: &mut ImportReport) -> Option<String> {
    match UserKey::parse(key.trim()) {
        Ok(key) => Some(key.to_string()),
        Err(_) => {
            report.keys_invalid.push(ImportedValue {
                row: row.to_string(),
                value: key.to_string(),
            });
            None
        }
    }
}

fn normalise_phone(raw: Option<&str>, user: &str, report: &mut ImportReport) -> Option<String> {
    let raw = raw.map(str::trim).filter(|raw| !raw.is_empty())?;
    match PhoneNumber::parse(raw) {
        Ok(phone) => {
            if phone.as_str() != raw {
                report.phones_normalised += 1;
            }
            Some(phone.to_string())
        }
        Err(_) => {
            report.phones_invalid.push(ImportedValue {
                row: user.to_string(),
                value: raw.to_string(),
            });
            None
        }
    }
}

/// A time as the source wrote it: integer seconds, milliseconds, microseconds or nanoseconds
/// since the epoch (told apart by their size), RFC 3339, or SQL's
/// `YYYY-MM-DD HH:MM:SS[.fff][+zz]` (UTC when no zone is given). `None` for anything else, or
/// for a time outside 1970–2200, which no connection row can hold.
pub fn parse_time(text: &str) -> Option<Timestamp> {
    use chrono::{DateTime, NaiveDateTime};
    let text = text.trim();
    let millis = if let Ok(number) = text.parse::<i64>() {
        // 10^11 seconds is the year 5138, 10^14 ms the year 5138: each unit has its range.
        match number.unsigned_abs() {
            0..100_000_000_000 => number.checked_mul(1000),
            100_000_000_000..100_000_000_000_000 => Some(number),
            100_000_000_000_000..100_000_000_000_000_000 => Some(number / 1000),
            _ => Some(number / 1_000_000),
        }
    } else if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        Some(at.timestamp_millis())
    } else {
        ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f%#z"]
            .iter()
            .find_map(|format| DateTime::parse_from_str(text, format).ok())
            .map(|at| at.timestamp_millis())
            .or_else(|| {
                ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
                    .iter()
                    .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
                    .map(|at| at.and_utc().timestamp_millis())
            })
    };
    // 1970-01-01 to 2200-01-01.
    millis
        .filter(|millis| (0..7_258_118_400_000).contains(millis))
        .map(Timestamp)
}

fn parse_map(map: &[String]) -> Result<HashMap<String, String>, SourceError> {
    let mut overrides = HashMap::new();
    for entry in map {
        let Some((role, column)) = entry.split_once('=') else {
            return Err(SourceError::Shape(format!(
                "--map {entry}: expected ROLE=COLUMN, e.g. phone=msisdn"
            )));
        };
        if !ROLES.iter().any(|(known, _)| *known == role) {
            let roles: Vec<&str> = ROLES.iter().map(|(role, _)| *role).collect();
            return Err(SourceError::Shape(format!(
                "--map {entry}: unknown role '{role}' (roles: {})",
                roles.join(", ")
            )));
        }
        overrides.insert(role.to_string(), column.to_string());
    }
    Ok(overrides)
}

/// A name compared the way Prisma's spellings differ: no case, no underscores.
fn folded(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

fn pick_table(
    tables: &[String],
    named: Option<&str>,
    candidates: &[&str],
    flag: &str,
) -> Result<Option<String>, SourceError> {
    if let Some(named) = named {
        return match tables.iter().find(|t| t.as_str() == named) {
            Some(table) => Ok(Some(table.clone())),
            None => Err(SourceError::Shape(format!(
                "{flag} {named}: no such table (tables: {})",
                tables.join(", ")
            ))),
        };
    }
    Ok(candidates
        .iter()
        .find_map(|candidate| tables.iter().find(|t| folded(t) == *candidate))
        .cloned())
}

fn find_column(
    columns: &[String],
    table: &str,
    role: &str,
    overrides: &HashMap<String, String>,
) -> Result<Option<String>, SourceError> {
    if let Some(named) = overrides.get(role) {
        return find_named(columns, table, named).map(Some);
    }
    let spellings = ROLES
        .iter()
        .find(|(known, _)| *known == role)
        .map(|(_, spellings)| *spellings)
        .unwrap_or_default();
    Ok(spellings
        .iter()
        .find_map(|spelling| columns.iter().find(|c| folded(c) == *spelling))
        .cloned())
}

fn find_named(columns: &[String], table: &str, named: &str) -> Result<String, SourceError> {
    columns
        .iter()
        .find(|c| c.as_str() == named || folded(c) == folded(named))
        .cloned()
        .ok_or_else(|| {
            SourceError::Shape(format!(
                "{table} has no column {named} (columns: {})",
                columns.join(", ")
            ))
        })
}

fn missing(table: &str, role: &str, columns: &[String]) -> SourceError {
    SourceError::Shape(format!(
        "{table}: no column for the {role} (columns: {}): name it with --map {role}=COLUMN",
        columns.join(", ")
    ))
}

/// The first `width` columns of each of `rows`, as the text they were cast to.
fn texts<R>(rows: Vec<R>, width: usize) -> Result<Vec<Vec<Option<String>>>, sqlx::Error>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    rows.iter()
        .map(|row| {
            (0..width)
                .map(|i| row.try_get::<Option<String>, _>(i))
                .collect()
        })
        .collect()
}

/// Prisma names a PostgreSQL schema with `?schema=NAME`, which PostgreSQL itself does not
/// know: the URL without it, and the schema to read.
fn prisma_schema(url: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_string(), None);
    };
    let mut schema = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.strip_prefix("schema=") {
            Some(name) => {
                schema = Some(name.to_string());
                false
            }
            None => true,
        })
        .collect();
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (url, schema.filter(|name| !name.is_empty()))
}

/// `"name"`, with inner quotes doubled: identifiers from the source's own catalogue only.
fn quoted(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

async fn open(from: &str) -> Result<Source, sqlx::Error> {
    if from.starts_with("postgres://") || from.starts_with("postgresql://") {
        let (url, schema) = prisma_schema(from);
        let mut conn = PgConnection::connect(&url).await?;
        // Times as text in one form whatever the server's defaults.
        let mut setup = "SET DateStyle = ISO; SET TimeZone = 'UTC';".to_string();
        if let Some(schema) = schema {
            setup.push_str(&format!(" SET search_path TO {};", quoted(&schema)));
        }
        sqlx::raw_sql(sqlx::AssertSqlSafe(setup))
            .execute(&mut conn)
            .await?;
        return Ok(Source::Postgres(conn));
    }
    let path = from
        .strip_prefix("sqlite://")
        .or_else(|| from.strip_prefix("sqlite:"))
        .unwrap_or(from);
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .create_if_missing(false);
    Ok(Source::Sqlite(
        SqliteConnection::connect_with(&options).await?,
    ))
}

impl Source {
    async fn tables(&mut self) -> Result<Vec<String>, sqlx::Error> {
        match self {
            Source::Sqlite(conn) => {
                sqlx::query_scalar(
                    "SELECT name FROM sqlite_master WHERE type = 'table' \
                     AND name NOT LIKE 'sqlite_%' ORDER BY name",
                )
                .fetch_all(conn)
                .await
            }
            Source::Postgres(conn) => {
                sqlx::query_scalar(
                    "SELECT table_name::text FROM information_schema.tables \
                     WHERE table_schema = current_schema() ORDER BY table_name",
                )
                .fetch_all(conn)
                .await
            }
        }
    }

    async fn columns(&mut self, table: &str) -> Result<Vec<String>, sqlx::Error> {
        match self {
            Source::Sqlite(conn) => {
                sqlx::query_scalar("SELECT name FROM pragma_table_info($1) ORDER BY cid")
                    .bind(table)
                    .fetch_all(conn)
                    .await
            }
            Source::Postgres(conn) => {
                sqlx::query_scalar(
                    "SELECT column_name::text FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND table_name = $1 \
                     ORDER BY ordinal_position",
                )
                .bind(table)
                .fetch_all(conn)
                .await
            }
        }
    }

    /// Every row of `table`, with `columns` as text (`None` for an absent column).
    async fn select(
        &mut self,
        table: &str,
        columns: &[Option<String>],
    ) -> Result<Vec<Vec<Option<String>>>, sqlx::Error> {
        let postgres = matches!(self, Source::Postgres(_));
        let list: Vec<String> = columns
            .iter()
            .map(|column| match column {
                Some(column) if postgres => format!("{}::text", quoted(column)),
                Some(column) => format!("CAST({} AS TEXT)", quoted(column)),
                None => "NULL".into(),
            })
            .collect();
        // Names come from the source's own catalogue (checked above), quoted.
        let sql = format!("SELECT {} FROM {}", list.join(", "), quoted(table));
        let width = columns.len();
        match self {
            Source::Sqlite(conn) => texts(
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .fetch_all(conn)
                    .await?,
                width,
            ),
            Source::Postgres(conn) => texts(
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .fetch_all(conn)
                    .await?,
                width,
            ),
        }
    }

    async fn close(self) {
        let _ = match self {
            Source::Sqlite(conn) => conn.close().await,
            Source::Postgres(conn) => conn.close().await,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_read_in_every_form_a_source_writes_them() {
        let at = 1_714_557_600_000; // 2024-05-01 10:00:00 UTC
        for text in [
            "1714557600000",
            "1714557600",
            "2024-05-01T10:00:00Z",
            "2024-05-01T10:00:00.000+00:00",
            "2024-05-01 12:00:00+02",
            "2024-05-01 10:00:00",
            "2024-05-01 10:00:00.000",
        ] {
            assert_eq!(parse_time(text), Some(Timestamp(at)), "{text}");
        }
        assert_eq!(
            parse_time("1714557600000000"),
            Some(Timestamp(at)),
            "microseconds"
        );
        assert_eq!(
            parse_time("1714557600000000000"),
            Some(Timestamp(at)),
            "nanoseconds"
        );
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("-5"), None, "before 1970");
        assert_eq!(parse_time("2400-01-01T00:00:00Z"), None, "after 2200");
    }

    #[test]
    fn a_prisma_schema_parameter_becomes_the_search_path() {
        assert_eq!(
            prisma_schema("postgres://u@h/app?schema=tenant_a&sslmode=disable"),
            (
                "postgres://u@h/app?sslmode=disable".to_string(),
                Some("tenant_a".to_string())
            )
        );
        assert_eq!(
            prisma_schema("postgres://u@h/app?schema=public"),
            ("postgres://u@h/app".to_string(), Some("public".to_string()))
        );
        assert_eq!(
            prisma_schema("postgres://u@h/app"),
            ("postgres://u@h/app".to_string(), None)
        );
    }

    #[test]
    fn prisma_spellings_are_one_name() {
        let columns: Vec<String> = ["id", "userId", "phoneNumber", "STATUS", "last_connected_at"]
            .map(String::from)
            .to_vec();
        let none = HashMap::new();
        let find = |role| find_column(&columns, "t", role, &none).expect("lookup");
        assert_eq!(find("user").as_deref(), Some("userId"));
        assert_eq!(find("phone").as_deref(), Some("phoneNumber"));
        assert_eq!(find("status").as_deref(), Some("STATUS"));
        assert_eq!(
            find("last_connected_at").as_deref(),
            Some("last_connected_at")
        );
        let mapped = parse_map(&["phone=id".into()]).expect("map");
        assert_eq!(
            find_column(&columns, "t", "phone", &mapped)
                .expect("mapped")
                .as_deref(),
            Some("id")
        );
        assert!(parse_map(&["colour=id".into()]).is_err());
        assert!(find_column(
            &columns,
            "t",
            "phone",
            &parse_map(&["phone=nope".into()]).unwrap()
        )
        .is_err());
    }
}
