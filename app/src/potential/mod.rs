//! Potential buyers: clients ranked by the purchase model, each with the
//! reasons for their score, and the model's honest report card.

#[cfg(feature = "ssr")]
pub mod ssr;

pub mod page;

pub use page::PotentialPage;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lead {
    pub client_id: i64,
    pub full_name: Option<String>,
    pub phone: Option<String>,
    pub branch: String,
    pub car: Option<String>,
    pub probability: f64,
    /// hot, warm or cold, by the thresholds in settings.
    pub band: String,
    pub reasons: Vec<String>,
    pub last_visit_at: Option<i64>,
    pub visit_count: i64,
    pub bought: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadPage {
    pub items: Vec<Lead>,
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
    pub has_model: bool,
}

/// Filters as typed (URL or API); validated on the server.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LeadQuery {
    #[serde(default)]
    pub branch: String,
    #[serde(default)]
    pub car: String,
    #[serde(default)]
    pub not_bought: String,
    #[serde(default)]
    pub last_visit_days: String,
    #[serde(default)]
    pub page: String,
    #[serde(default)]
    pub page_size: String,
}

/// The model page: the active model's metrics and coefficients, history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelReport {
    pub id: i64,
    pub trained_at: i64,
    pub active: bool,
    pub roc_auc: f64,
    pub pr_auc: f64,
    pub brier: f64,
    pub baseline_roc_auc: f64,
    pub baseline_pr_auc: f64,
    pub train_count: usize,
    pub test_count: usize,
    pub train_buyers: usize,
    pub test_buyers: usize,
    pub alpha: f64,
    /// (from, to, clients, mean predicted, observed rate)
    pub calibration: Vec<(f64, f64, usize, f64, f64)>,
    /// `logistic` or `trees`.
    pub family: String,
    /// Trees in the ensemble (0 for the logistic model).
    pub trees: usize,
    /// (feature, weight) for the logistic model, (feature, share of what the
    /// trees learned) for the trees; largest effect first.
    pub coefficients: Vec<(String, f64)>,
    /// Of the `.0` hold-out clients ranked highest, `.1` bought.
    pub top: (usize, usize),
    /// The model active when this one was trained: (id, PR AUC, ROC AUC)
    /// on the same hold-out.
    pub incumbent: Option<(i64, f64, f64)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelPanel {
    pub models: Vec<ModelReport>,
    pub hot: f64,
    pub warm: f64,
    pub branches: Vec<(i64, String)>,
    pub car_models: Vec<(i64, String)>,
    /// The model serves the whole network: its dates are shown at the
    /// first branch's offset.
    pub offset_minutes: i32,
    /// `auto`, or the family an admin pinned.
    pub pinned: String,
}

#[cfg(feature = "ssr")]
pub fn report(stored: &crate::scoring::ssr::StoredModel) -> ModelReport {
    let m = &stored.metrics;
    ModelReport {
        id: stored.id,
        family: stored.family.as_str().to_string(),
        trees: m.trees,
        trained_at: stored.trained_at,
        active: stored.active,
        roc_auc: m.roc_auc,
        pr_auc: m.pr_auc,
        brier: m.brier,
        baseline_roc_auc: m.baseline_roc_auc,
        baseline_pr_auc: m.baseline_pr_auc,
        train_count: m.train_count,
        test_count: m.test_count,
        train_buyers: m.train_buyers,
        test_buyers: m.test_buyers,
        alpha: m.alpha,
        calibration: m
            .calibration
            .iter()
            .map(|b| (b.from, b.to, b.clients, b.mean_predicted, b.observed_rate))
            .collect(),
        coefficients: m.explained.clone(),
        top: (m.top.ranked, m.top.bought),
        incumbent: m.incumbent.map(|o| (o.model_id, o.pr_auc, o.roc_auc)),
    }
}

#[server(prefix = "/rpc")]
pub async fn load_leads(query: LeadQuery, lang: String) -> Result<LeadPage, AppError> {
    let (_, state) = crate::auth::ssr::require(crate::auth::ssr::Need::Manager).await?;
    let filter = crate::potential::ssr::validate(&query, crate::infra::now())?;
    crate::potential::ssr::leads(&state.db, &filter, lang.parse().unwrap_or_default()).await
}

#[server(prefix = "/rpc")]
pub async fn load_model_panel() -> Result<ModelPanel, AppError> {
    let (_, state) = crate::auth::ssr::require(crate::auth::ssr::Need::Manager).await?;
    let models = crate::scoring::ssr::list_models(&state.db)
        .await?
        .iter()
        .map(report)
        .collect();
    let (hot, warm) = crate::scoring::ssr::bands(&state.db).await?;
    let (car_models, branches) = crate::clients::ssr::choices(&state.db).await?;
    Ok(ModelPanel {
        models,
        hot,
        warm,
        branches,
        car_models,
        offset_minutes: crate::settings::ssr::branches::offset_minutes(&state.db, None).await?,
        pinned: crate::scoring::ssr::pinned_family(&state.db)
            .await?
            .map_or("auto", |f| f.as_str())
            .to_string(),
    })
}

/// Pins the model family used from the next training on (`auto`,
/// `logistic`, `trees`).
#[server(prefix = "/rpc")]
pub async fn pin_model_family(family: String) -> Result<(), AppError> {
    let (admin, state) = crate::auth::ssr::require(crate::auth::ssr::Need::Admin).await?;
    crate::scoring::ssr::pin_family(&state.db, admin.id, &family).await
}

/// Retrains now; the previous model stays when training is refused.
#[server(prefix = "/rpc")]
pub async fn retrain_model() -> Result<ModelReport, AppError> {
    let (user, state) = crate::auth::ssr::require(crate::auth::ssr::Need::Manager).await?;
    let stored = crate::scoring::ssr::train_and_activate(&state.db, Some(user.id)).await?;
    Ok(report(&stored))
}

#[server(prefix = "/rpc")]
pub async fn activate_model(id: i64) -> Result<(), AppError> {
    let (admin, state) = crate::auth::ssr::require(crate::auth::ssr::Need::Admin).await?;
    crate::scoring::ssr::activate(&state.db, admin.id, id).await
}

#[server(prefix = "/rpc")]
pub async fn save_score_bands(hot: String, warm: String) -> Result<(), AppError> {
    use crate::error::InvalidCode;
    let (admin, state) = crate::auth::ssr::require(crate::auth::ssr::Need::Admin).await?;
    let parse = |field: &str, v: &str| -> Result<f64, AppError> {
        let percent: f64 = v
            .trim()
            .parse()
            .map_err(|_| AppError::invalid(field, InvalidCode::BadFormat))?;
        Ok(percent / 100.0)
    };
    crate::scoring::ssr::set_bands(
        &state.db,
        admin.id,
        parse("score_hot", &hot)?,
        parse("score_warm", &warm)?,
    )
    .await
}

/// The score and reasons shown on a client card.
#[server(prefix = "/rpc")]
pub async fn client_score(
    client_id: i64,
    lang: String,
) -> Result<Option<(f64, String, Vec<String>)>, AppError> {
    let (user, state) = crate::auth::ssr::require(crate::auth::ssr::Need::Staff).await?;
    crate::clients::ssr::check_access(&state.db, user.scope, client_id).await?;
    crate::potential::ssr::client_score(&state.db, client_id, lang.parse().unwrap_or_default())
        .await
}

/// A car segment in the user's language.
pub fn segment_label(locale: crate::i18n::Locale, segment: &str) -> &str {
    use crate::i18n::td_string;
    match segment {
        "budget" => td_string!(locale, segments.budget),
        "sedan" => td_string!(locale, segments.sedan),
        "suv" => td_string!(locale, segments.suv),
        "commercial" => td_string!(locale, segments.commercial),
        "premium" => td_string!(locale, segments.premium),
        "electric" => td_string!(locale, segments.electric),
        other => other,
    }
}

/// A model feature named for a sales manager, not by its code name.
pub fn feature_label(locale: crate::i18n::Locale, feature: &str) -> String {
    use crate::i18n::td_string;
    if let Some(source) = feature.strip_prefix("source_") {
        let word = crate::vocab::Source::parse(source).map_or(source, |s| s.label(locale));
        return td_string!(locale, features.source).replace("%s", word);
    }
    if let Some(segment) = feature.strip_prefix("segment_") {
        return td_string!(locale, features.segment).replace("%s", segment_label(locale, segment));
    }
    match feature {
        "age" => td_string!(locale, features.age),
        "male" => td_string!(locale, features.male),
        "visits_total" => td_string!(locale, features.visits_total),
        "visits_30d" => td_string!(locale, features.visits_30d),
        "days_since_first" => td_string!(locale, features.days_since_first),
        "days_since_last" => td_string!(locale, features.days_since_last),
        "total_minutes" => td_string!(locale, features.total_minutes),
        "mean_minutes" => td_string!(locale, features.mean_minutes),
        "test_drives" => td_string!(locale, features.test_drives),
        "credit_talks" => td_string!(locale, features.credit_talks),
        "trade_in_talks" => td_string!(locale, features.trade_in_talks),
        "consultations" => td_string!(locale, features.consultations),
        "purchase_talks" => td_string!(locale, features.purchase_talks),
        "returning_via_camera" => td_string!(locale, features.returning_via_camera),
        other => other,
    }
    .to_string()
}
