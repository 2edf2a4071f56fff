//! What the bot says, in the staff member's language (locale files, `bot.*`).
//! Templates mark numbers with `%n` and text with `%s`, filled in order.

use crate::dashboard::Overview;
use crate::i18n::*;

pub fn locale(language: &str) -> Locale {
    match language {
        "ru" => Locale::ru,
        "en" => Locale::en,
        _ => Locale::uz,
    }
}

/// Fills `%n` / `%s` markers in order.
pub fn fill(template: &str, values: &[String]) -> String {
    let mut out = String::new();
    let mut values = values.iter();
    let mut rest = template;
    while let Some(at) = rest.find(['%']) {
        let marker = rest.get(at..at + 2);
        out.push_str(&rest[..at]);
        if matches!(marker, Some("%n") | Some("%s")) {
            out.push_str(values.next().map(String::as_str).unwrap_or(""));
            rest = &rest[at + 2..];
        } else {
            out.push('%');
            rest = &rest[at + 1..];
        }
    }
    out.push_str(rest);
    out
}

/// For a chat nobody linked: we do not know its language, so all three.
pub fn refusal() -> String {
    [Locale::uz, Locale::ru, Locale::en]
        .into_iter()
        .map(|l| td_string!(l, bot.refusal).to_string())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// A command the staff member's role may not ask (reception and `/top`).
pub fn forbidden(l: Locale) -> String {
    td_string!(l, bot.forbidden).to_string()
}

/// When the database fails mid-answer: we may not know the language, so all three.
pub fn failed() -> String {
    [Locale::uz, Locale::ru, Locale::en]
        .into_iter()
        .map(|l| td_string!(l, bot.failed).to_string())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// The answer when a report for a linked chat cannot be made: bad arguments
/// (a 500-character name, a stray symbol) get the command list; anything else
/// failed on our side (and was logged where it arose), so: try again later.
pub fn report_failed(l: Locale, error: &crate::error::AppError) -> String {
    match error {
        crate::error::AppError::Invalid { .. } => unknown_command(l),
        _ => td_string!(l, bot.failed).to_string(),
    }
}

pub fn linked(l: Locale, name: &str) -> String {
    fill(td_string!(l, bot.linked), &[name.to_string()])
}

pub fn unknown_code(l: Locale) -> String {
    td_string!(l, bot.unknown_code).to_string()
}

pub fn help(l: Locale) -> String {
    td_string!(l, bot.help).to_string()
}

pub fn unknown_command(l: Locale) -> String {
    format!("{}\n\n{}", td_string!(l, bot.unknown_command), help(l))
}

pub fn today(l: Locale, o: &Overview) -> String {
    let numbers = [
        o.visits_today,
        o.visits_last_week,
        o.new_today,
        o.returning_today,
        o.test_drives_today,
        o.sales_today,
    ];
    fill(td_string!(l, bot.today), &numbers.map(|n| n.to_string()))
}

pub fn inside(l: Locale, o: &Overview) -> String {
    if o.inside.is_empty() {
        return td_string!(l, bot.inside_none).to_string();
    }
    let mut lines = vec![td_string!(l, bot.inside_title).to_string()];
    for v in o.inside.iter().take(30) {
        let minutes = (o.now - v.entered_at).max(0) / 60;
        let name = v
            .name
            .clone()
            .unwrap_or_else(|| td_string!(l, bot.unknown_visitor).to_string());
        lines.push(format!("• {name} — {} · {minutes} min", v.branch));
    }
    lines.join("\n")
}

/// What a notification says about its client and branch, read from the
/// database when it goes out (the payload carries what may change later).
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct Facts {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub visit_count: i64,
    /// The visit before the one notified about.
    pub previous_visit: Option<i64>,
    pub probability: Option<f64>,
    pub car: Option<String>,
    pub photo_path: Option<String>,
    pub branch: Option<String>,
    pub utc_offset_minutes: Option<i64>,
}

fn percent(p: f64) -> String {
    format!("{:.0}%", p * 100.0)
}

/// `t` as local date and time at the branch.
fn local_time(f: &Facts, t: i64, with_date: bool) -> String {
    // A notice about no branch in particular: a new branch's zone.
    let offset = f
        .utc_offset_minutes
        .unwrap_or(i64::from(crate::infra::time::DEFAULT_OFFSET_MINUTES));
    chrono::DateTime::from_timestamp(t + offset * 60, 0)
        .map(|d| {
            d.format(if with_date { "%d.%m.%Y %H:%M" } else { "%H:%M" })
                .to_string()
        })
        .unwrap_or_default()
}

/// A notification in the recipient's language. `payload` is the outbox row's
/// JSON; `created_at` when the event happened.
pub fn notification(
    l: Locale,
    kind: &str,
    payload: &serde_json::Value,
    f: &Facts,
    created_at: i64,
) -> String {
    let name = || f.name.clone().unwrap_or_else(|| "—".into());
    let number = |key: &str| payload.get(key).and_then(|v| v.as_i64()).unwrap_or(0);
    let mut lines = match kind {
        "new_client" => vec![fill(
            td_string!(l, bot.new_client),
            &[name(), f.phone.clone().unwrap_or_default()],
        )],
        "returning_client" => vec![
            fill(
                td_string!(l, bot.returning_client),
                &[name(), f.visit_count.to_string()],
            ),
            fill(
                td_string!(l, bot.returning_details),
                &[
                    f.previous_visit
                        .map(|t| local_time(f, t, true))
                        .unwrap_or_else(|| td_string!(l, bot.never).to_string()),
                    f.probability.map(percent).unwrap_or_else(|| "—".into()),
                    f.car.clone().unwrap_or_else(|| "—".into()),
                ],
            ),
        ],
        "unknown_visitor" => vec![fill(
            td_string!(l, bot.unknown_at_entrance),
            &[local_time(f, created_at, false)],
        )],
        "client_left" => vec![fill(
            td_string!(l, bot.client_left),
            &[name(), (number("stayed_secs") / 60).to_string()],
        )],
        "hot_lead" => {
            let probability = payload
                .get("probability")
                .and_then(|v| v.as_f64())
                .unwrap_or(0.0);
            let reasons: Vec<crate::scoring::ssr::Reason> = payload
                .get("reasons")
                .and_then(|r| serde_json::from_value(r.clone()).ok())
                .unwrap_or_default();
            let mut lines = vec![fill(
                td_string!(l, bot.hot_lead),
                &[
                    name(),
                    f.phone.clone().unwrap_or_default(),
                    percent(probability),
                ],
            )];
            if !reasons.is_empty() {
                let why: Vec<String> = reasons
                    .iter()
                    .map(|r| crate::scoring::ssr::reason_text(l, r))
                    .collect();
                lines.push(fill(td_string!(l, bot.hot_lead_why), &[why.join("; ")]));
            }
            lines
        }
        "daily_summary" => {
            let mut lines = vec![fill(
                td_string!(l, bot.daily_summary),
                &[
                    payload
                        .get("date")
                        .and_then(|v| v.as_str())
                        .unwrap_or_default()
                        .to_string(),
                    number("visits").to_string(),
                    number("new").to_string(),
                    number("returning").to_string(),
                    number("test_drives").to_string(),
                    number("sales").to_string(),
                ],
            )];
            if number("auto_closed") > 0 {
                lines.push(fill(
                    td_string!(l, bot.auto_closed),
                    &[number("auto_closed").to_string()],
                ));
            }
            lines
        }
        other => vec![format!("{other}: {}", name())],
    };
    if let Some(branch) = &f.branch {
        lines.push(fill(
            td_string!(l, bot.branch),
            std::slice::from_ref(branch),
        ));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_report_asks_to_try_again_unless_the_arguments_were_bad() {
        use crate::error::{AppError, InvalidCode};
        assert_eq!(
            report_failed(Locale::en, &AppError::Internal),
            "Something went wrong on our side; please try again in a minute."
        );
        assert!(report_failed(Locale::ru, &AppError::Internal).contains("минуту"));
        assert_eq!(
            report_failed(Locale::en, &AppError::invalid("q", InvalidCode::TooLong)),
            unknown_command(Locale::en)
        );
    }

    #[test]
    fn markers_are_filled_in_order() {
        assert_eq!(
            fill("%s is back: visit %n (100%)", &["Aziz".into(), "3".into()]),
            "Aziz is back: visit 3 (100%)"
        );
        assert_eq!(fill("no markers", &[]), "no markers");
        assert!(refusal().contains("staff only") && refusal().contains("сотрудников"));
    }
}

/// The answers that read reports: `/client`, `/top`, `/stats`. `branch` is
/// the asking staff member's branch when they only see their own.
pub mod reports {
    use super::{Locale, fill, td_string};
    use crate::clients::ssr as clients;
    use crate::error::AppError;
    use crate::infra::Db;
    use crate::potential::ssr as potential;
    use crate::stats::ssr as stats;

    pub async fn client(
        db: &Db,
        l: Locale,
        branch: Option<i64>,
        query: &str,
        now: i64,
    ) -> Result<String, AppError> {
        if query.trim().is_empty() {
            return Ok(td_string!(l, bot.client_usage).to_string());
        }
        let q = crate::clients::ClientQuery {
            q: query.to_string(),
            page_size: "5".into(),
            ..Default::default()
        };
        let mut search = clients::validate(&q, now)?;
        // Reception's rule, as on the web: its clients and those visiting it.
        if branch.is_some() {
            search.served_at = branch;
        }
        let page = clients::search_clients(db, &search).await?;
        if page.items.is_empty() {
            return Ok(td_string!(l, bot.client_none).to_string());
        }
        let mut lines = Vec::new();
        for c in page.items {
            let score: Option<f64> = crate::db_run!(db, |e| sqlx::query_scalar(
                "SELECT probability FROM client_scores WHERE client_id = $1"
            )
            .bind(c.id)
            .fetch_optional(e)
            .await)?;
            lines.push(fill(
                td_string!(l, bot.client_line),
                &[
                    c.full_name.clone().unwrap_or_default(),
                    c.phone.clone().unwrap_or_default(),
                    c.visit_count.to_string(),
                    score
                        .map(|p| format!("{:.0}%", p * 100.0))
                        .unwrap_or_else(|| "—".into()),
                ],
            ));
        }
        Ok(lines.join("\n"))
    }

    pub async fn top(
        db: &Db,
        l: Locale,
        branch: Option<i64>,
        now: i64,
    ) -> Result<String, AppError> {
        let q = crate::potential::LeadQuery {
            branch: branch.map(|b| b.to_string()).unwrap_or_default(),
            not_bought: "1".into(),
            page_size: "5".into(),
            ..Default::default()
        };
        let page = potential::leads(db, &potential::validate(&q, now)?, l).await?;
        if page.items.is_empty() {
            return Ok(td_string!(l, bot.top_none).to_string());
        }
        let mut lines = vec![td_string!(l, bot.top_title).to_string()];
        for lead in page.items {
            lines.push(format!(
                "• {} — {:.0}% · {} · {}",
                lead.full_name.unwrap_or_default(),
                lead.probability * 100.0,
                lead.phone.unwrap_or_default(),
                lead.reasons.join("; ")
            ));
        }
        Ok(lines.join("\n"))
    }

    pub async fn stats(
        db: &Db,
        l: Locale,
        branch: Option<i64>,
        period: &str,
        now: i64,
    ) -> Result<String, AppError> {
        let (days, label) = match period {
            "week" => (7, td_string!(l, bot.week)),
            "month" => (30, td_string!(l, bot.month)),
            _ => return Ok(td_string!(l, bot.stats_usage).to_string()),
        };
        // The asker's branch's days (the network's: the first branch's).
        let filter = stats::recent_days(db, branch, days, now).await?;
        let t = stats::compute(db, &filter).await?.totals;
        Ok(fill(
            td_string!(l, bot.stats),
            &[
                label.to_string(),
                t.visits.to_string(),
                t.new_visits.to_string(),
                t.returning_visits.to_string(),
                t.test_drives.to_string(),
                t.sales.to_string(),
            ],
        ))
    }
}
