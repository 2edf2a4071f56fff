//! Statistics: the numbers behind every chart for a date range and branch,
//! and the page that shows them as server-rendered SVG charts with tables.

#[cfg(feature = "ssr")]
pub mod ssr;

mod page;

pub use page::StatsPage;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    pub visits: i64,
    /// People, each counted once a day per branch (a client, or a stranger the
    /// cameras knew again), added up over the days.
    pub visitors: i64,
    pub known_visits: i64,
    pub new_visits: i64,
    pub returning_visits: i64,
    pub unknown_visits: i64,
    pub test_drives: i64,
    pub sales: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayCount {
    pub date: String,
    pub visits: i64,
    pub visitors: i64,
    pub new: i64,
    pub returning: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgeBand {
    pub band: String,
    pub male: i64,
    pub female: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Funnel {
    /// Unique visitors (people per day), where the funnel starts.
    pub visitors: i64,
    pub test_drive: i64,
    pub credit: i64,
    pub bought: i64,
}

/// Everything the statistics page and `GET /api/stats` report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub from: String,
    pub to: String,
    pub branch: Option<i64>,
    pub totals: Totals,
    pub per_day: Vec<DayCount>,
    /// Visits by local hour of entry, 0–23.
    pub by_hour: Vec<i64>,
    /// Visits by weekday (Monday first) × hour.
    pub weekday_hour: Vec<Vec<i64>>,
    pub age_gender: Vec<AgeBand>,
    /// Service requests by kind.
    pub services: Vec<(crate::vocab::ServiceKind, i64)>,
    pub funnel: Funnel,
    /// Closed visits by time spent in the showroom.
    pub dwell: Vec<(String, i64)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chart {
    pub key: String,
    pub title: String,
    /// Drawn for a wide card.
    pub svg: String,
    /// Drawn for a phone: larger type relative to the picture, fewer labels.
    pub svg_narrow: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatsView {
    pub stats: Stats,
    pub charts: Vec<Chart>,
    pub branches: Vec<(i64, String)>,
}

/// The statistics for the page, charts drawn in the user's language.
#[server(prefix = "/rpc")]
pub async fn load_stats(
    from: String,
    to: String,
    branch: String,
    lang: String,
) -> Result<StatsView, AppError> {
    use crate::auth::ssr::{Need, require};
    let (_, state) = require(Need::Manager).await?;
    let filter =
        crate::stats::ssr::load_filter(&state.db, &from, &to, &branch, crate::infra::now()).await?;
    let stats = crate::stats::ssr::compute(&state.db, &filter).await?;
    let locale = lang.parse().unwrap_or_default();
    let charts = crate::stats::ssr::charts::render_all(&stats, locale);
    let branches = crate::settings::ssr::branches::list(&state.db)
        .await?
        .into_iter()
        .map(|b| (b.id, b.name))
        .collect();
    Ok(StatsView {
        stats,
        charts,
        branches,
    })
}
