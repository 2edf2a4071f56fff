//! The one-shot commands beside `serve`: demo data, training the purchase
//! model, exporting its features.

use app::infra::Db;

use crate::{Config, ServerError, demo, prepare_data_dir};

/// `demo-data`: fills an empty database with a believable dealership network.
pub async fn demo_data(config: &Config, clients: u32, seed: u64) -> Result<(), ServerError> {
    prepare_data_dir(&config.data_dir)?;
    let db = Db::open(&config.database_url()).await?;
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
    Ok(Db::open(&config.database_url()).await?)
}

/// `train`: trains the purchase model now, activates it and rescores.
pub async fn train(config: &Config) -> Result<(), ServerError> {
    let db = open_existing(config).await?;
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.set_message("computing features, cross-validating, training, rescoring …");
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let result = app::scoring::ssr::train_and_activate(&db, None).await;
    spinner.finish_and_clear();
    let model = result.map_err(|e| ServerError::Demo(e.to_string()))?;
    let m = &model.metrics;
    println!(
        "model #{}: ROC AUC {:.3} (visit count alone {:.3}), PR AUC {:.3} (baseline {:.3}), Brier {:.4}, L2 alpha {}",
        model.id, m.roc_auc, m.baseline_roc_auc, m.pr_auc, m.baseline_pr_auc, m.brier, m.alpha
    );
    println!(
        "trained on {} clients ({} buyers), tested on {} later clients ({} buyers), fit in {:.2} s",
        m.train_count, m.train_buyers, m.test_count, m.test_buyers, m.seconds
    );
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
