//! Backups taken while serving, and restoring one. A backup is a folder
//! `avtosalon-YYYYMMDD-HHMMSS.mmm` (UTC) holding `avtosalon.db`, copied with
//! `VACUUM INTO` (one read transaction: everything committed when it began,
//! nothing half-written, writers never wait) — on PostgreSQL every row copied
//! into that SQLite file from one snapshot — and `files/`, the personal
//! files that copy refers to. It is built under a hidden name and renamed
//! when complete, so a folder with the final name is always whole. Backups
//! hold personal data: their folder is readable by this user only, they are
//! kept a few days, and a restore erases again whoever was erased since.

use std::path::{Path, PathBuf};

use crate::error::AppError;
use crate::infra::{Db, files};

/// The database file inside a backup.
pub const DATABASE_FILE: &str = "avtosalon.db";
const FOLDER_PREFIX: &str = "avtosalon-";
const STAMP: &str = "%Y%m%d-%H%M%S%.3f";

/// What a backup holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Backup {
    pub path: PathBuf,
    /// Unix seconds when the copy of the database began.
    pub taken_at: i64,
    pub files: usize,
}

fn io(what: &str, path: &Path) -> impl FnOnce(std::io::Error) -> AppError {
    let message = format!("{what} {}", path.display());
    move |error| {
        tracing::error!(%error, "{message}");
        AppError::Internal
    }
}

/// When the backup in `folder` was taken, read from its name.
pub fn taken_at(folder: &Path) -> Option<i64> {
    let name = folder.file_name()?.to_str()?;
    let stamp = name.strip_prefix(FOLDER_PREFIX)?;
    chrono::NaiveDateTime::parse_from_str(stamp, STAMP)
        .ok()
        .map(|t| t.and_utc().timestamp())
}

/// Copies `from` to `to` (a new file readable by this user only).
fn copy_private(from: &Path, to: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(parent) = to.parent() {
        files::private_dir(parent)?;
    }
    std::fs::copy(from, to)?;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o600))
}

/// Takes a backup of `db` and the files of `data_dir` into `into`, now.
pub async fn take(db: &Db, data_dir: &Path, into: &Path) -> Result<Backup, AppError> {
    files::private_dir(into).map_err(io("cannot create the backup folder", into))?;
    let started = chrono::Utc::now();
    let now = started.timestamp();
    let stamp = started.format(STAMP).to_string();
    let path = into.join(format!("{FOLDER_PREFIX}{stamp}"));
    if path.exists() {
        return Err(AppError::internal(
            "a backup was taken this very millisecond",
        ));
    }
    let partial = into.join(format!(".{FOLDER_PREFIX}{stamp}.partial"));
    let _ = std::fs::remove_dir_all(&partial);
    files::private_dir(&partial).map_err(io("cannot create", &partial))?;
    let database = partial.join(DATABASE_FILE);
    let target = database
        .to_str()
        .ok_or_else(|| AppError::internal("the backup path is not UTF-8"))?;
    if db.is_postgres() {
        let copy = Db::open(&format!("sqlite://{target}")).await.map_err(|e| {
            tracing::error!(error = %e, "cannot create the backup's database");
            AppError::Internal
        })?;
        let copied =
            super::copy::copy_database(db, &copy, super::copy::Target::MustBeEmpty, &|_, _| {})
                .await;
        copy.close().await;
        copied?;
    } else {
        crate::db_run!(db, |c| sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
    }
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&database, std::fs::Permissions::from_mode(0o600))
            .map_err(io("cannot protect", &database))?;
    }
    // The files the copy refers to, read from the copy itself: a photo
    // written after the copy began is not in it, one erased since is gone.
    let copy = Db::open(&format!("sqlite://{target}")).await.map_err(|e| {
        tracing::error!(error = %e, "cannot open the backup just taken");
        AppError::Internal
    })?;
    let referenced = super::referenced_files(&copy).await;
    copy.close().await;
    let mut copied = 0;
    for stored in referenced? {
        let (Some(from), Some(to)) = (
            files::resolve(data_dir, &stored),
            files::resolve(&partial.join("files"), &stored),
        ) else {
            continue;
        };
        match copy_private(&from, &to) {
            Ok(()) => copied += 1,
            // Erased between the copy and now: the restore erases it again.
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(io("cannot copy", &from)(error)),
        }
    }
    std::fs::rename(&partial, &path).map_err(io("cannot complete", &path))?;
    Ok(Backup {
        path,
        taken_at: now,
        files: copied,
    })
}

/// The backups in `folder`, oldest first.
pub fn list(folder: &Path) -> Vec<(i64, PathBuf)> {
    let mut found: Vec<(i64, PathBuf)> = std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| Some((taken_at(&entry.path())?, entry.path())))
        .collect();
    found.sort();
    found
}

/// Deletes backups older than `keep_days`, always keeping the newest.
pub fn prune(folder: &Path, keep_days: i64, now: i64) -> usize {
    let backups = list(folder);
    let newest = backups.last().map(|(t, _)| *t);
    let mut removed = 0;
    for (taken, path) in backups {
        if Some(taken) != newest && taken < now - keep_days * 86_400 {
            match std::fs::remove_dir_all(&path) {
                Ok(()) => removed += 1,
                Err(error) => {
                    tracing::warn!(%error, path = %path.display(), "old backup not deleted")
                }
            }
        }
    }
    removed
}

/// Puts the files of `backup` into `data_dir` (the database is put in place
/// by the caller, who knows where it lives).
pub fn restore_files(backup: &Path, data_dir: &Path) -> Result<usize, AppError> {
    let source = backup.join("files");
    let mut restored = 0;
    for folder in super::PERSONAL_FOLDERS {
        let Ok(entries) = std::fs::read_dir(source.join(folder)) else {
            continue;
        };
        for entry in entries.flatten() {
            let to = data_dir.join(folder).join(entry.file_name());
            copy_private(&entry.path(), &to).map_err(io("cannot restore", &to))?;
            restored += 1;
        }
    }
    Ok(restored)
}

/// Erases again, in the restored database, whoever `erased` lists (client,
/// by whom), and deletes the files no restored row refers to.
pub async fn reapply_erasures(
    db: &Db,
    data_dir: &Path,
    erased: &[(i64, i64)],
) -> Result<usize, AppError> {
    let mut again = 0;
    for (client, actor) in erased {
        match super::erase_client(db, data_dir, *actor, *client).await {
            Ok(()) => again += 1,
            // Erased before the backup was taken, or created after it.
            Err(AppError::NotFound) => {}
            Err(error) => return Err(error),
        }
    }
    super::remove_unreferenced_files(db, data_dir).await?;
    Ok(again)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_folders_carry_their_time() {
        let t = 1_795_514_400;
        let stamp = chrono::DateTime::from_timestamp(t, 0)
            .unwrap()
            .format(STAMP)
            .to_string();
        let folder = PathBuf::from(format!("/b/{FOLDER_PREFIX}{stamp}"));
        assert!(stamp.ends_with(".000"), "{stamp}");
        assert_eq!(taken_at(&folder), Some(t));
        assert_eq!(taken_at(Path::new("/b/.avtosalon-x.partial")), None);
        assert_eq!(taken_at(Path::new("/b/notes")), None);
    }

    #[test]
    fn pruning_keeps_recent_backups_and_always_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let day = 86_400;
        let now = 1_795_514_400;
        for age in [20, 9, 3, 0] {
            let stamp = chrono::DateTime::from_timestamp(now - age * day, 0)
                .unwrap()
                .format(STAMP)
                .to_string();
            std::fs::create_dir(dir.path().join(format!("{FOLDER_PREFIX}{stamp}"))).unwrap();
        }
        assert_eq!(prune(dir.path(), 7, now), 2);
        assert_eq!(list(dir.path()).len(), 2);
        // Long after: the newest stays even when it is old.
        assert_eq!(prune(dir.path(), 7, now + 100 * day), 1);
        assert_eq!(list(dir.path()).len(), 1);
    }
}
