//! Copying every row of one database into another of the other kind: a showroom that grows
//! into a chain moves its SQLite file onto PostgreSQL (`server copy-database`), and a
//! PostgreSQL database is backed up into a SQLite file (and restored from one).
//!
//! The source is read in one snapshot (everything committed when the copy began); the
//! target is written in one transaction, so it holds all of it or nothing. Derived tables
//! (the statistics roll-ups, the scoring features) are rebuilt, not copied, and signed-in
//! sessions are not carried over.

use std::collections::{BTreeMap, BTreeSet};

use futures::TryStreamExt;
use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::infra::Db;
use crate::infra::db::{Backend, Conn, WriteTx};
use crate::infra::sql::{Arg, Sql};

/// Tables never copied: migration bookkeeping, sessions, SQLite's search index, and
/// [`DERIVED`].
const NOT_COPIED: [&str; 3] = ["_sqlx_migrations", "tower_sessions", "clients_fts"];

/// Tables rebuilt from the copied rows (emptied in the target first).
const DERIVED: [&str; 5] = [
    "client_features",
    "stats_hourly",
    "stats_services_daily",
    "stats_demographics_daily",
    "stats_visitors_daily",
];

/// Bound values per INSERT: below SQLite's limit of 32,766 and PostgreSQL's 65,535.
const BINDS_PER_INSERT: usize = 30_000;

/// The type of a column, as PostgreSQL's schema declares it (SQLite's are looser).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Int8,
    Int4,
    Bool,
    Float8,
    Float4,
    Text,
    Bytes,
}

impl Kind {
    fn of(data_type: &str) -> Option<Kind> {
        Some(match data_type {
            "bigint" => Kind::Int8,
            "integer" | "smallint" => Kind::Int4,
            "boolean" => Kind::Bool,
            "double precision" | "numeric" => Kind::Float8,
            "real" => Kind::Float4,
            "text" | "character varying" => Kind::Text,
            "bytea" => Kind::Bytes,
            _ => return None,
        })
    }
}

/// Why a copy did not happen; the target is left as it was.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("{0}")]
    Refused(String),
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
}

impl From<CopyError> for crate::error::AppError {
    fn from(error: CopyError) -> Self {
        crate::error::AppError::internal(error)
    }
}

/// What was copied: rows per table, in the order they were written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CopyReport {
    pub tables: Vec<(String, u64)>,
}

impl CopyReport {
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }
}

/// Whether the target must be empty (a copy) or is replaced whole (a restore).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    MustBeEmpty,
    Replace,
}

/// Copies every row of `from` into `to` (one SQLite and one PostgreSQL database, both
/// migrated to the same version). `progress` hears each table as it is done.
pub async fn copy_database(
    from: &Db,
    to: &Db,
    target: Target,
    progress: &(dyn Fn(&str, u64) + Sync),
) -> Result<CopyReport, CopyError> {
    if from.is_postgres() == to.is_postgres() {
        return Err(CopyError::Refused(
            "a copy goes between SQLite and PostgreSQL; copy a SQLite file with its backup".into(),
        ));
    }
    let postgres = if from.is_postgres() { from } else { to };
    let plan = plan(postgres).await?;
    let mut held = from.acquire().await?;
    let mut source = held.backend();
    let sqlite_tables = sqlite_tables(if from.is_postgres() { to } else { from }).await?;
    if let Some(missing) = plan.iter().find(|t| !sqlite_tables.contains(&t.name)) {
        return Err(CopyError::Refused(format!(
            "the SQLite database has no table {}: are both at the same version?",
            missing.name
        )));
    }
    // One snapshot of the source for every table.
    match &mut source {
        Backend::Sqlite(c) => {
            sqlx::query("BEGIN").execute(&mut **c).await?;
        }
        Backend::Postgres(c) => {
            sqlx::query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .execute(&mut **c)
                .await?;
        }
    }
    let result = copy_in_snapshot(source.backend(), to, &plan, target, progress).await;
    let end = crate::db_run!(source, |c| sqlx::query("ROLLBACK")
        .execute(c)
        .await
        .map(|_| ()));
    let report = result?;
    end?;
    Ok(report)
}

async fn copy_in_snapshot(
    mut source: Conn<'_>,
    to: &Db,
    plan: &[Table],
    target: Target,
    progress: &(dyn Fn(&str, u64) + Sync),
) -> Result<CopyReport, CopyError> {
    let mut tx = to.begin_write().await?;
    if target == Target::MustBeEmpty {
        for table in ["branches", "staff", "clients", "visits"] {
            let rows: i64 = crate::db_run!(tx, |c| sqlx::query_scalar(&format!(
                "SELECT COUNT(*) FROM {table}"
            ))
            .fetch_one(c)
            .await)?;
            if rows > 0 {
                return Err(CopyError::Refused(format!(
                    "the target database already has {rows} row(s) in {table}: copy into a new, empty database"
                )));
            }
        }
    }
    empty(&mut tx, to.is_postgres(), plan).await?;
    // The roll-ups are rebuilt in one pass at the end, not row by row.
    crate::db_run!(tx, |c| sqlx::query(
        "INSERT INTO settings (key, value) VALUES ('rollups_paused', '1')"
    )
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    crate::infra::db::set_row_triggers(tx.backend(), &crate::infra::db::TRIGGERED_TABLES, false)
        .await?;
    let mut report = CopyReport::default();
    for table in plan {
        let expected: i64 = crate::db_run!(source, |c| sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM {}",
            table.name
        ))
        .fetch_one(c)
        .await)?;
        let written = match &mut source {
            Backend::Sqlite(c) => {
                copy_table(sqlx::query(&table.select()).fetch(&mut **c), table, &mut tx).await?
            }
            Backend::Postgres(c) => {
                copy_table(sqlx::query(&table.select()).fetch(&mut **c), table, &mut tx).await?
            }
        };
        let landed: i64 = crate::db_run!(tx, |c| sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM {}",
            table.name
        ))
        .fetch_one(c)
        .await)?;
        // The target's settings also hold the pause of the roll-ups, until the end.
        let paused = i64::from(table.name == "settings");
        if written != expected as u64 || landed != expected + paused {
            return Err(CopyError::Refused(format!(
                "{}: {expected} row(s) in the source, {written} read, {landed} in the target",
                table.name
            )));
        }
        progress(&table.name, written);
        report.tables.push((table.name.clone(), written));
    }
    crate::infra::db::set_row_triggers(tx.backend(), &crate::infra::db::TRIGGERED_TABLES, true)
        .await?;
    crate::stats::ssr::rebuild_rollups(tx.backend()).await?;
    crate::scoring::ssr::features::mark_all_changed(tx.backend()).await?;
    crate::db_run!(tx, |c| sqlx::query(
        "DELETE FROM settings WHERE key = 'rollups_paused'"
    )
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    crate::infra::db::sync_id_sequences(tx.backend()).await?;
    tx.commit().await?;
    Ok(report)
}

/// Empties the target's copied and derived tables (the rows its migrations put there, or
/// everything, for a restore).
async fn empty(tx: &mut WriteTx, postgres: bool, plan: &[Table]) -> Result<(), CopyError> {
    let derived = DERIVED.iter().copied();
    if postgres {
        // One TRUNCATE: no row triggers, foreign keys satisfied as a whole.
        let all: Vec<&str> = plan
            .iter()
            .map(|t| t.name.as_str())
            .chain(derived)
            .collect();
        crate::db_run!(tx, |c| sqlx::query(&format!("TRUNCATE {}", all.join(", ")))
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
    } else {
        for name in derived.chain(plan.iter().rev().map(|t| t.name.as_str())) {
            crate::db_run!(tx, |c| sqlx::query(&format!("DELETE FROM {name}"))
                .execute(c)
                .await
                .map(|r| r.rows_affected()))?;
        }
    }
    Ok(())
}

/// Reads `rows` and writes them into `table` in `tx`.
async fn copy_table<R>(
    mut rows: futures::stream::BoxStream<'_, Result<R, sqlx::Error>>,
    table: &Table,
    tx: &mut WriteTx,
) -> Result<u64, CopyError>
where
    R: Row,
    usize: ColumnIndex<R>,
    for<'r> Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<i32>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<bool>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<f64>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<f32>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<Vec<u8>>: Decode<'r, R::Database> + Type<R::Database>,
{
    let mut sink = Sink::open(tx, table).await?;
    while let Some(row) = rows.try_next().await? {
        let mut values = Vec::with_capacity(table.columns.len());
        for (i, (_, kind)) in table.columns.iter().enumerate() {
            values.push(value(&row, i, *kind)?);
        }
        // On an error the COPY is dropped unfinished: PostgreSQL is told it failed, and
        // the whole transaction rolls back.
        sink.push(values).await?;
    }
    sink.finish().await
}

/// Bytes of COPY text sent at a time.
const COPY_CHUNK: usize = 1 << 20;

/// Where a table's rows go: PostgreSQL's COPY, which takes rows several times faster than
/// INSERTs with bound values (no statement per batch, no parameter per value), or batches
/// of multi-row INSERTs into SQLite.
enum Sink<'t> {
    Copy {
        copy: sqlx::postgres::PgCopyIn<&'t mut sqlx::PgConnection>,
        text: Vec<u8>,
    },
    Insert {
        tx: &'t mut WriteTx,
        table: &'t Table,
        batch: Vec<Vec<Arg>>,
        per_insert: usize,
        written: u64,
    },
}

impl<'t> Sink<'t> {
    async fn open(tx: &'t mut WriteTx, table: &'t Table) -> Result<Sink<'t>, CopyError> {
        if matches!(tx.backend(), Backend::Postgres(_)) {
            let Backend::Postgres(conn) = tx.backend() else {
                unreachable!("matched above")
            };
            let copy = conn
                .copy_in_raw(&format!(
                    "COPY {} ({}) FROM STDIN",
                    table.name,
                    table.column_list()
                ))
                .await?;
            return Ok(Sink::Copy {
                copy,
                text: Vec::with_capacity(COPY_CHUNK + 64 * 1024),
            });
        }
        let per_insert = (BINDS_PER_INSERT / table.columns.len()).max(1);
        Ok(Sink::Insert {
            tx,
            table,
            batch: Vec::with_capacity(per_insert),
            per_insert,
            written: 0,
        })
    }

    async fn push(&mut self, values: Vec<Arg>) -> Result<(), CopyError> {
        match self {
            Sink::Copy { copy, text } => {
                copy_line(text, &values);
                if text.len() >= COPY_CHUNK {
                    copy.send(text.as_slice()).await?;
                    text.clear();
                }
            }
            Sink::Insert {
                tx,
                table,
                batch,
                per_insert,
                written,
            } => {
                batch.push(values);
                if batch.len() == *per_insert {
                    *written += insert(tx, table, batch).await?;
                }
            }
        }
        Ok(())
    }

    async fn finish(self) -> Result<u64, CopyError> {
        match self {
            Sink::Copy { mut copy, text } => {
                if !text.is_empty() {
                    copy.send(text.as_slice()).await?;
                }
                Ok(copy.finish().await?)
            }
            Sink::Insert {
                tx,
                table,
                mut batch,
                mut written,
                ..
            } => {
                if !batch.is_empty() {
                    written += insert(tx, table, &mut batch).await?;
                }
                Ok(written)
            }
        }
    }
}

/// One row in COPY's text format: tab-separated, `\N` for NULL, backslash escapes.
fn copy_line(text: &mut Vec<u8>, values: &[Arg]) {
    use std::io::Write;
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            text.push(b'\t');
        }
        // Writing into a Vec cannot fail.
        let _ = match value {
            Arg::Int(Some(v)) => write!(text, "{v}"),
            // Rust writes the shortest text that reads back as the same double, and
            // PostgreSQL reads its "NaN", "inf" and "-inf".
            Arg::Real(Some(v)) => write!(text, "{v}"),
            Arg::Bool(Some(v)) => write!(text, "{}", if *v { 't' } else { 'f' }),
            Arg::Text(Some(v)) => {
                for byte in v.bytes() {
                    match byte {
                        b'\\' => text.extend_from_slice(b"\\\\"),
                        b'\t' => text.extend_from_slice(b"\\t"),
                        b'\n' => text.extend_from_slice(b"\\n"),
                        b'\r' => text.extend_from_slice(b"\\r"),
                        other => text.push(other),
                    }
                }
                Ok(())
            }
            // bytea's hex form, its backslash escaped for COPY.
            Arg::Bytes(Some(v)) => {
                text.extend_from_slice(b"\\\\x");
                for byte in v {
                    let _ = write!(text, "{byte:02x}");
                }
                Ok(())
            }
            Arg::Int(None)
            | Arg::Real(None)
            | Arg::Bool(None)
            | Arg::Text(None)
            | Arg::Bytes(None) => {
                text.extend_from_slice(b"\\N");
                Ok(())
            }
        };
    }
    text.push(b'\n');
}

fn value<R>(row: &R, i: usize, kind: Kind) -> Result<Arg, sqlx::Error>
where
    R: Row,
    usize: ColumnIndex<R>,
    for<'r> Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<i32>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<bool>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<f64>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<f32>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<Vec<u8>>: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(match kind {
        Kind::Int8 => Arg::Int(row.try_get::<Option<i64>, _>(i)?),
        Kind::Int4 => Arg::Int(row.try_get::<Option<i32>, _>(i)?.map(i64::from)),
        Kind::Bool => Arg::Bool(row.try_get::<Option<bool>, _>(i)?),
        Kind::Float8 => Arg::Real(row.try_get::<Option<f64>, _>(i)?),
        Kind::Float4 => Arg::Real(row.try_get::<Option<f32>, _>(i)?.map(f64::from)),
        Kind::Text => Arg::Text(row.try_get::<Option<String>, _>(i)?),
        Kind::Bytes => Arg::Bytes(row.try_get::<Option<Vec<u8>>, _>(i)?),
    })
}

async fn insert(
    tx: &mut WriteTx,
    table: &Table,
    batch: &mut Vec<Vec<Arg>>,
) -> Result<u64, CopyError> {
    let mut q = Sql::new(format!(
        "INSERT INTO {} ({}) ",
        table.name,
        table.column_list()
    ));
    q.push_values(batch.drain(..), |mut row, values| {
        for v in values {
            row.push_bind(v);
        }
    });
    Ok(crate::db_run!(tx, |c, D| q
        .query::<D>()
        .execute(c)
        .await
        .map(|r| r.rows_affected()))?)
}

/// A table to copy, with its columns as PostgreSQL declares them.
#[derive(Debug, Clone)]
struct Table {
    name: String,
    columns: Vec<(String, Kind)>,
}

impl Table {
    fn column_list(&self) -> String {
        let names: Vec<&str> = self.columns.iter().map(|(n, _)| n.as_str()).collect();
        names.join(", ")
    }

    /// Rows in key order, so each batch lands in the order it was first written.
    fn select(&self) -> String {
        format!(
            "SELECT {} FROM {} ORDER BY 1",
            self.column_list(),
            self.name
        )
    }
}

/// The tables to copy, each after those its foreign keys point to, read from the
/// PostgreSQL side's catalogue (its schema is the stricter one).
async fn plan(postgres: &Db) -> Result<Vec<Table>, CopyError> {
    let mut conn = postgres.acquire().await?;
    let Backend::Postgres(c) = conn.backend() else {
        return Err(CopyError::Refused("not a PostgreSQL database".into()));
    };
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name",
    )
    .fetch_all(&mut *c)
    .await?;
    let edges: Vec<(String, String)> = sqlx::query_as(
        "SELECT CAST(CAST(conrelid AS regclass) AS TEXT), CAST(CAST(confrelid AS regclass) AS TEXT) \
         FROM pg_constraint WHERE contype = 'f' AND connamespace = CAST(current_schema() AS regnamespace)",
    )
    .fetch_all(&mut *c)
    .await?;
    let columns: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT CAST(table_name AS TEXT), CAST(column_name AS TEXT), CAST(data_type AS TEXT) \
         FROM information_schema.columns WHERE table_schema = current_schema() \
         ORDER BY table_name, ordinal_position",
    )
    .fetch_all(&mut *c)
    .await?;
    let copied: BTreeSet<String> = names
        .into_iter()
        .filter(|n| !NOT_COPIED.contains(&n.as_str()) && !DERIVED.contains(&n.as_str()))
        .collect();
    let mut parents: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (child, parent) in &edges {
        if child != parent && copied.contains(child) && copied.contains(parent) {
            parents.entry(child).or_default().insert(parent);
        }
    }
    let mut order: Vec<&str> = Vec::new();
    while order.len() < copied.len() {
        let ready = copied.iter().map(String::as_str).find(|t| {
            !order.contains(t)
                && parents
                    .get(t)
                    .is_none_or(|ps| ps.iter().all(|p| order.contains(p)))
        });
        match ready {
            Some(table) => order.push(table),
            None => {
                return Err(CopyError::Refused(
                    "the tables' foreign keys form a cycle".into(),
                ));
            }
        }
    }
    order
        .into_iter()
        .map(|name| {
            let columns = columns
                .iter()
                .filter(|(t, _, _)| t == name)
                .map(|(_, column, data_type)| {
                    Kind::of(data_type)
                        .map(|kind| (column.clone(), kind))
                        .ok_or_else(|| {
                            CopyError::Refused(format!(
                                "{name}.{column}: no copy for the type {data_type}"
                            ))
                        })
                })
                .collect::<Result<Vec<_>, CopyError>>()?;
            Ok(Table {
                name: name.to_string(),
                columns,
            })
        })
        .collect()
}

/// The SQLite side's tables.
async fn sqlite_tables(sqlite: &Db) -> Result<BTreeSet<String>, CopyError> {
    let names: Vec<String> = crate::db_run!(sqlite, |c| sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table'"
    )
    .fetch_all(c)
    .await)?;
    Ok(names.into_iter().collect())
}
