//! Background jobs: the purchase model retrains at night and after every
//! few new sales, off the request path.

use app::infra::AppState;
use app::scoring::ssr as scoring;
use std::time::Duration;

/// New sales after which the model retrains without waiting for the night.
pub const RETRAIN_AFTER_SALES: i64 = 25;
const CHECK_EVERY: Duration = Duration::from_secs(600);
/// Local hour (Tashkent) of the nightly retraining.
const NIGHT_HOUR: i64 = 3;

/// Whether to retrain now, given the sales since the last training (None:
/// no model yet), the local hour and the age of the model in hours.
pub fn should_retrain(
    sales_since: Option<i64>,
    local_hour: i64,
    model_age_hours: Option<i64>,
) -> bool {
    match sales_since {
        None => true,
        Some(n) if n >= RETRAIN_AFTER_SALES => true,
        Some(_) => local_hour == NIGHT_HOUR && model_age_hours.is_some_and(|h| h >= 20),
    }
}

async fn model_age_hours(state: &AppState) -> Option<i64> {
    let trained = scoring::last_trained_at(&state.db).await.ok().flatten();
    trained.map(|t| (app::infra::now() - t) / 3600)
}

pub fn spawn_retraining(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut refused_before = false;
        loop {
            tokio::time::sleep(CHECK_EVERY).await;
            let Ok(sales_since) = scoring::sales_since_training(&state.db).await else {
                continue;
            };
            // The night is the network's (its first branch's): one model serves every branch.
            let Ok(offset) = app::settings::ssr::branches::offset_minutes(&state.db, None).await
            else {
                continue;
            };
            let local_hour = app::infra::time::local_hour(app::infra::now(), offset);
            if !should_retrain(sales_since, local_hour, model_age_hours(&state).await) {
                continue;
            }
            match scoring::train_and_activate(&state.db, None).await {
                Ok(model) => {
                    refused_before = false;
                    tracing::info!(
                        id = model.id,
                        pr_auc = model.metrics.pr_auc,
                        active = model.active,
                        "purchase model retrained (kept inactive when worse than the active one)"
                    );
                }
                Err(error) if !refused_before => {
                    refused_before = true;
                    tracing::info!(%error, "purchase model not retrained");
                }
                Err(_) => {}
            }
        }
    })
}

/// Every minute: close the day at branches past closing time (open visits
/// auto-closed, the daily summary queued) and purge unknown visitors'
/// snapshots older than the retention period.
pub fn spawn_closing(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match app::notify::ssr::closing::run_due(&state.db, app::infra::now()).await {
                Ok(closed) => {
                    for (branch, summary) in closed {
                        tracing::info!(branch, ?summary, "day closed");
                        state.announce(branch);
                    }
                }
                Err(error) => tracing::warn!(%error, "closing time not handled"),
            }
            match app::camera::ssr::purge_snapshots(&state.db, &state.data_dir).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(n, "old unknown-visitor snapshots deleted"),
                Err(error) => tracing::warn!(%error, "snapshots not purged"),
            }
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
    })
}

/// A backup a day into `into`, kept `keep_days` (checked every 10 minutes,
/// so a machine switched off at night backs up when it is back).
pub fn spawn_backups(
    state: AppState,
    into: std::path::PathBuf,
    keep_days: u16,
) -> tokio::task::JoinHandle<()> {
    use app::privacy::ssr::backup;
    tokio::spawn(async move {
        loop {
            let now = app::infra::now();
            let newest = backup::list(&into).last().map(|(t, _)| *t);
            if newest.is_none_or(|t| now - t >= 86_400) {
                match backup::take(&state.db, &state.data_dir, &into).await {
                    Ok(taken) => {
                        tracing::info!(path = %taken.path.display(), files = taken.files, "backup taken")
                    }
                    Err(error) => tracing::warn!(%error, "backup not taken"),
                }
                backup::prune(&into, i64::from(keep_days), now);
            }
            tokio::time::sleep(Duration::from_secs(600)).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retrains_without_a_model_after_sales_and_at_night() {
        assert!(should_retrain(None, 12, None));
        assert!(should_retrain(Some(25), 12, Some(1)));
        assert!(!should_retrain(Some(3), 12, Some(30)));
        assert!(should_retrain(Some(3), 3, Some(30)));
        assert!(!should_retrain(Some(3), 3, Some(2)));
    }
}
