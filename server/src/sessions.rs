//! Where signed-in sessions are kept across restarts: in the product's own database,
//! whichever of the two it is.

use app::infra::Db;
use app::infra::db::Backend;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

#[derive(Clone, Debug)]
pub struct DbSessionStore(Backend<SqliteStore, PostgresStore>);

impl DbSessionStore {
    /// The store of `db`, its table created if missing.
    pub async fn open(db: &Db) -> Result<Self, sqlx::Error> {
        let store = match db.backend() {
            Backend::Sqlite(pool) => {
                let store = SqliteStore::new(pool.clone());
                store.migrate().await?;
                Backend::Sqlite(store)
            }
            Backend::Postgres(pool) => {
                // A session is written on every request (its expiry moves on): waiting for
                // each write to reach the disk would cap the server at the disk's flush rate.
                // A crash loses at most the last moments' expiry extensions, never a sign-in's
                // safety (the session id is still checked against the store).
                let options = (*pool.connect_options())
                    .clone()
                    .options([("synchronous_commit", "off")]);
                let sessions = sqlx::postgres::PgPoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(app::infra::db::ACQUIRE_TIMEOUT)
                    .connect_lazy_with(options);
                let store = PostgresStore::new(sessions);
                store.migrate().await?;
                Backend::Postgres(store)
            }
        };
        Ok(DbSessionStore(store))
    }
}

#[async_trait::async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match &self.0 {
            Backend::Sqlite(store) => store.create(record).await,
            Backend::Postgres(store) => store.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match &self.0 {
            Backend::Sqlite(store) => store.save(record).await,
            Backend::Postgres(store) => store.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match &self.0 {
            Backend::Sqlite(store) => store.load(id).await,
            Backend::Postgres(store) => store.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match &self.0 {
            Backend::Sqlite(store) => store.delete(id).await,
            Backend::Postgres(store) => store.delete(id).await,
        }
    }
}

#[async_trait::async_trait]
impl ExpiredDeletion for DbSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match &self.0 {
            Backend::Sqlite(store) => store.delete_expired().await,
            Backend::Postgres(store) => store.delete_expired().await,
        }
    }
}
