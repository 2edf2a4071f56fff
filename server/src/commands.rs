//! The one-shot commands beside `serve`: demo data, training the purchase
//! model, exporting its features.

use app::infra::Db;

use crate::{Config, ServerError, demo, prepare_data_dir};

/// `demo-data`: fills an empty database with a believable dealership network.
pub async fn demo_data(config: &Config, clients: u32, seed: u64) -> Result<(), ServerError> {
    prepare_data_dir(&config.data_dir)?;
    let db = Db::open_with(&config.database_url(), config.database_pool_size).await?;
    if !demo::database_is_empty(&db).await? {
        return Err(ServerError::Demo(
            "the database already has clients or visits; point DATABASE_URL at a new file".into(),
        ));
    }
    let started = std::time::Instant::now();
    let summary = demo::generate(&db, clients, seed, true).await?;
    println!(
        "generated {} clients, {} visits, {} service requests, {} sales in {:.1} s",
        summary.clients,
        summary.visits,
        summary.service_requests,
        summary.sales,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn open_existing(config: &Config) -> Result<Db, ServerError> {
    prepare_data_dir(&config.data_dir)?;
    Ok(Db::open_with(&config.database_url(), config.database_pool_size).await?)
}

/// `train`: trains the purchase model now; activates it and rescores unless
/// it ranks the newest clients worse than the active one.
pub async fn train(config: &Config) -> Result<(), ServerError> {
    let db = open_existing(config).await?;
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.set_message("training both model families, rescoring …");
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let result = app::scoring::ssr::train_and_activate(&db, None).await;
    spinner.finish_and_clear();
    let model = result.map_err(|e| ServerError::Demo(e.to_string()))?;
    let m = &model.metrics;
    println!(
        "model #{} ({}): ROC AUC {:.3} (visit count alone {:.3}), PR AUC {:.3} (baseline {:.3}), Brier {:.4}",
        model.id,
        model.family.as_str(),
        m.roc_auc,
        m.baseline_roc_auc,
        m.pr_auc,
        m.baseline_pr_auc,
        m.brier
    );
    println!(
        "trained on {} clients ({} buyers), tested on {} later clients ({} buyers), fit in {:.2} s",
        m.train_count, m.train_buyers, m.test_count, m.test_buyers, m.seconds
    );
    if let (false, Some(old)) = (model.active, m.incumbent) {
        println!(
            "not activated: the active model #{} ranks the same clients better (PR AUC {:.3}); make #{} active on the model page to use it anyway",
            old.model_id, old.pr_auc, model.id
        );
    }
    Ok(())
}

/// `export-features`: the training matrix and labels as CSV.
pub async fn export_features(config: &Config, out: &std::path::Path) -> Result<(), ServerError> {
    let db = open_existing(config).await?;
    let file =
        std::fs::File::create(out).map_err(|e| ServerError::DataDir(out.to_path_buf(), e))?;
    let mut writer = std::io::BufWriter::new(file);
    let rows = app::scoring::ssr::export_features(&db, &mut writer)
        .await
        .map_err(|e| ServerError::Demo(e.to_string()))?;
    println!("wrote {rows} rows to {}", out.display());
    Ok(())
}

/// `backup`: a consistent copy of the database and personal files, taken
/// while the server may be serving.
pub async fn backup(config: &Config) -> Result<(), ServerError> {
    let db = open_existing(config).await?;
    let taken = app::privacy::ssr::backup::take(&db, &config.data_dir, &config.backup_dir())
        .await
        .map_err(|e| ServerError::Backup(e.to_string()))?;
    println!(
        "backup taken: {} ({} files)",
        taken.path.display(),
        taken.files
    );
    Ok(())
}

/// `restore`: the backup's database and files put back (the server must be
/// stopped), then everyone erased since the backup erased again.
pub async fn restore(config: &Config, backup: &std::path::Path) -> Result<(), ServerError> {
    use app::privacy::ssr::backup as backups;
    prepare_data_dir(&config.data_dir)?;
    let _lock = crate::lock_data_dir(&config.data_dir)?;
    let fail = |what: &str| ServerError::Backup(format!("{what}: {}", backup.display()));
    let source = backup.join(backups::DATABASE_FILE);
    let taken_at = backups::taken_at(backup).ok_or_else(|| fail("not a backup folder"))?;
    if !source.is_file() {
        return Err(fail("the backup has no database"));
    }
    let Some(target) = config.database_file() else {
        return restore_into_postgres(config, backup, taken_at).await;
    };
    // Whoever was erased after the backup was taken stays erased.
    let erased = if target.is_file() {
        let current = Db::open_with(&config.database_url(), config.database_pool_size).await?;
        let erased = app::privacy::ssr::erased_since(&current, taken_at)
            .await
            .map_err(|e| ServerError::Backup(e.to_string()))?;
        current.close().await;
        erased
    } else {
        Vec::new()
    };
    let io = |e: std::io::Error| ServerError::DataDir(config.data_dir.clone(), e);
    let incoming = target.with_extension("db.restoring");
    std::fs::copy(&source, &incoming).map_err(io)?;
    // The old write-ahead log belongs to the old file: it must not be
    // replayed into the restored one.
    for suffix in ["-wal", "-shm"] {
        let mut side = target.clone().into_os_string();
        side.push(suffix);
        match std::fs::remove_file(&side) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
            _ => {}
        }
    }
    std::fs::rename(&incoming, &target).map_err(io)?;
    let restored_files = backups::restore_files(backup, &config.data_dir)
        .map_err(|e| ServerError::Backup(e.to_string()))?;
    let db = Db::open_with(&config.database_url(), config.database_pool_size).await?;
    let again = backups::reapply_erasures(&db, &config.data_dir, &erased)
        .await
        .map_err(|e| ServerError::Backup(e.to_string()))?;
    db.close().await;
    println!(
        "restored {} ({restored_files} files); {again} client(s) erased since were erased again",
        backup.display()
    );
    Ok(())
}

/// `restore` on PostgreSQL: the backup's SQLite copy put back row by row in one
/// transaction (the database as it was, or unchanged if anything fails), the files put
/// back, and everyone erased since erased again.
async fn restore_into_postgres(
    config: &Config,
    backup: &std::path::Path,
    taken_at: i64,
) -> Result<(), ServerError> {
    use app::privacy::ssr::{backup as backups, copy};
    let current = Db::open_with(&config.database_url(), config.database_pool_size).await?;
    // A server on another machine holds the database's claim; this one is held while restoring.
    let _claim = current
        .claim_server()
        .await?
        .ok_or(ServerError::DatabaseBusy)?;
    let erased = app::privacy::ssr::erased_since(&current, taken_at)
        .await
        .map_err(|e| ServerError::Backup(e.to_string()))?;
    let source = backup.join(backups::DATABASE_FILE);
    let saved = Db::open(&format!("sqlite://{}", source.display())).await?;
    let copied = copy::copy_database(&saved, &current, copy::Target::Replace, &|_, _| {}).await;
    saved.close().await;
    let copied = copied?;
    // Sessions signed in after the backup could name staff ids the restored database gives
    // to someone else later: everyone signs in again, as after a SQLite restore.
    if let app::infra::db::Backend::Postgres(pool) = current.backend() {
        let store: Option<String> =
            sqlx::query_scalar("SELECT CAST(to_regclass('tower_sessions.session') AS TEXT)")
                .fetch_one(pool)
                .await?;
        if store.is_some() {
            sqlx::query("DELETE FROM tower_sessions.session")
                .execute(pool)
                .await?;
        }
    }
    let restored_files = backups::restore_files(backup, &config.data_dir)
        .map_err(|e| ServerError::Backup(e.to_string()))?;
    let again = backups::reapply_erasures(&current, &config.data_dir, &erased)
        .await
        .map_err(|e| ServerError::Backup(e.to_string()))?;
    current.close().await;
    println!(
        "restored {} ({} rows, {restored_files} files); {again} client(s) erased since were erased again",
        backup.display(),
        copied.rows()
    );
    Ok(())
}

/// `copy-database`: every row of one database into a new one of the other kind.
pub async fn copy_database(from: &str, to: &str) -> Result<(), ServerError> {
    let file_of = |url: &str| {
        url.strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .map(|path| std::path::PathBuf::from(path.split('?').next().unwrap_or(path)))
    };
    // Opening a SQLite URL creates the file: a mistyped source must not become an empty copy.
    if let Some(file) = file_of(from).filter(|f| !f.is_file()) {
        return Err(ServerError::Config(format!(
            "--from names {}, which does not exist",
            file.display()
        )));
    }
    let source = Db::open(from).await?;
    let target = Db::open(to).await?;
    let started = std::time::Instant::now();
    let table_started = std::sync::Mutex::new(started);
    let report = app::privacy::ssr::copy::copy_database(
        &source,
        &target,
        app::privacy::ssr::copy::Target::MustBeEmpty,
        &|table, rows| {
            let mut since = table_started.lock().unwrap_or_else(|p| p.into_inner());
            println!(
                "{table:>26}: {rows} rows in {:.1} s",
                since.elapsed().as_secs_f64()
            );
            *since = std::time::Instant::now();
        },
    )
    .await;
    if report.is_ok() {
        // Fresh planner statistics, so the first queries on the copy pick the right indexes.
        app::db_run!(target, |c| sqlx::query("ANALYZE")
            .execute(c)
            .await
            .map(|r| r.rows_affected()))?;
    }
    source.close().await;
    target.close().await;
    let report = report?;
    println!(
        "copied {} rows of {} tables in {:.1} s; every table's row count matches the source",
        report.rows(),
        report.tables.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
