//! The statistics page: filters in the URL, totals, charts and their numbers.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::{Chart, Stats, StatsView, load_stats};
use crate::i18n::*;
use crate::ui::{ErrorMessage, Loading, ServiceName};

#[component]
pub fn StatsPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let param = move |name: &str| query.read().get(name).unwrap_or_default();
    let view_data = Resource::new(
        move || {
            (
                param("from"),
                param("to"),
                param("branch"),
                i18n.get_locale().as_str().to_string(),
            )
        },
        |(from, to, branch, lang)| load_stats(from, to, branch, lang),
    );
    view! {
        <leptos_meta::Title text=crate::ui::title(move || t_string!(i18n, stats.title).to_string()) />
        <h1 class="page-title">{t!(i18n, stats.title)}</h1>
        <Transition fallback=Loading>
            {move || {
                view_data
                    .get()
                    .map(|result| match result {
                        Ok(data) => view! { <StatsBody data /> }.into_any(),
                        Err(error) => {
                            view! {
                                <StatsFilter from=param("from") to=param("to") branch=param("branch") branches=vec![] />
                                <ErrorMessage error />
                            }
                                .into_any()
                        }
                    })
            }}
        </Transition>
    }
}

#[component]
fn StatsFilter(
    from: String,
    to: String,
    branch: String,
    branches: Vec<(i64, String)>,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <form method="get" action="/stats" class="card form-grid filters" data-test="stats-filter">
            <label class="field">
                <span>{t!(i18n, stats.from)}</span>
                <input type="date" name="from" value=from />
            </label>
            <label class="field">
                <span>{t!(i18n, stats.to)}</span>
                <input type="date" name="to" value=to />
            </label>
            <label class="field">
                <span>{t!(i18n, stats.branch)}</span>
                <select name="branch" data-test="stats-branch">
                    <crate::ui::BranchOptions branches selected=branch />
                </select>
            </label>
            <div class="form-actions">
                <button type="submit" class="button primary">{t!(i18n, stats.apply)}</button>
            </div>
        </form>
    }
}

#[component]
fn StatsBody(data: StatsView) -> impl IntoView {
    let i18n = use_i18n();
    let StatsView {
        stats,
        charts,
        branches,
    } = data;
    let t = stats.totals.clone();
    let branch = stats.branch.map(|b| b.to_string()).unwrap_or_default();
    let query = format!("from={}&to={}&branch={}", stats.from, stats.to, branch);
    let export = move |format: &str| {
        let lang = i18n.get_locale().as_str();
        format!("/api/export/visits?{query}&format={format}&lang={lang}")
    };
    view! {
        <StatsFilter from=stats.from.clone() to=stats.to.clone() branch branches />
        <p class="list-head">
            <a class="button ghost small" href={let export = export.clone(); move || export("csv")} download data-test="export-visits">{t!(i18n, stats.export_visits)}</a>
            " "
            <a class="button ghost small" href=move || export("xlsx") download data-test="export-visits-xlsx">{t!(i18n, stats.export_visits_xlsx)}</a>
        </p>
        <section class="kpis" data-test="stats-totals">
            <div class="kpi">
                <span class="kpi-label">{t!(i18n, stats.totals_visits)}</span>
                <span class="kpi-value" data-test="total-visits">{t.visits}</span>
                <span class="kpi-note">
                    {t!(i18n, stats.totals_new)} " " {t.new_visits} " · " {t!(i18n, stats.totals_returning)} " "
                    {t.returning_visits}
                </span>
            </div>
            <div class="kpi">
                <span class="kpi-label">{t!(i18n, stats.totals_visitors)}</span>
                <span class="kpi-value" data-test="total-visitors">{t.visitors}</span>
                <span class="kpi-note">
                    {t!(i18n, stats.totals_unique)} " " {t.known_visits} " · " {t!(i18n, stats.totals_unknown)} " "
                    {t.unknown_visits}
                </span>
            </div>
            <div class="kpi">
                <span class="kpi-label">{t!(i18n, stats.totals_test_drives)}</span>
                <span class="kpi-value">{t.test_drives}</span>
            </div>
            <div class="kpi">
                <span class="kpi-label">{t!(i18n, stats.totals_sales)}</span>
                <span class="kpi-value">{t.sales}</span>
            </div>
        </section>
        <div class="charts">
            {charts
                .into_iter()
                .map(|chart| view! { <ChartCard chart stats=stats.clone() /> })
                .collect_view()}
        </div>
    }
}

#[component]
fn ChartCard(chart: Chart, stats: Stats) -> impl IntoView {
    let i18n = use_i18n();
    let Chart {
        key,
        title,
        svg,
        svg_narrow,
    } = chart;
    let table = numbers_table(&key, &stats);
    view! {
        <figure class="card chart" data-chart=key.clone()>
            <figcaption class="chart-title">{title.clone()}</figcaption>
            // Both drawings are sent; the stylesheet shows the one that fits.
            <div class="chart-svg wide" role="img" aria-label=title.clone() inner_html=svg></div>
            <div class="chart-svg narrow" role="img" aria-label=title.clone() inner_html=svg_narrow></div>
            <details class="chart-table">
                <summary>{t!(i18n, stats.table)}</summary>
                {table}
            </details>
        </figure>
    }
}

/// The numbers behind a chart, as a table.
fn numbers_table(key: &str, stats: &Stats) -> AnyView {
    let rows: Vec<(AnyView, Vec<i64>)> = match key {
        "per_day" => stats
            .per_day
            .iter()
            .map(|d| {
                (
                    d.date.clone().into_any(),
                    vec![d.visits, d.new, d.returning],
                )
            })
            .collect(),
        "by_hour" => stats
            .by_hour
            .iter()
            .enumerate()
            .map(|(h, v)| (format!("{h:02}:00").into_any(), vec![*v]))
            .collect(),
        "weekday_hour" => stats
            .weekday_hour
            .iter()
            .enumerate()
            .map(|(d, hours)| (view! { <Weekday day=d /> }.into_any(), hours.clone()))
            .collect(),
        "new_returning" => weekly_rows(stats),
        "age_gender" => stats
            .age_gender
            .iter()
            .map(|a| (a.band.clone().into_any(), vec![a.male, a.female]))
            .collect(),
        "services" => stats
            .services
            .iter()
            .map(|(k, c)| (view! { <ServiceName kind=*k /> }.into_any(), vec![*c]))
            .collect(),
        "funnel" => {
            let f = &stats.funnel;
            vec![
                (view! { <FunnelStep step=0 /> }.into_any(), vec![f.visitors]),
                (
                    view! { <FunnelStep step=1 /> }.into_any(),
                    vec![f.test_drive],
                ),
                (view! { <FunnelStep step=2 /> }.into_any(), vec![f.credit]),
                (view! { <FunnelStep step=3 /> }.into_any(), vec![f.bought]),
            ]
        }
        _ => stats
            .dwell
            .iter()
            .map(|(l, c)| (l.clone().into_any(), vec![*c]))
            .collect(),
    };
    view! {
        <div class="table-wrap">
            <table class="table compact">
                <tbody>
                    {rows
                        .into_iter()
                        .map(|(label, values)| {
                            view! {
                                <tr>
                                    <th>{label}</th>
                                    {values.into_iter().map(|v| view! { <td class="num">{v}</td> }).collect_view()}
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

fn weekly_rows(stats: &Stats) -> Vec<(AnyView, Vec<i64>)> {
    stats
        .per_day
        .chunks(7)
        .map(|week| {
            (
                week[0].date.clone().into_any(),
                vec![
                    week.iter().map(|d| d.new).sum(),
                    week.iter().map(|d| d.returning).sum(),
                ],
            )
        })
        .collect()
}

#[component]
fn Weekday(day: usize) -> impl IntoView {
    let i18n = use_i18n();
    match day {
        0 => t!(i18n, stats.mon).into_any(),
        1 => t!(i18n, stats.tue).into_any(),
        2 => t!(i18n, stats.wed).into_any(),
        3 => t!(i18n, stats.thu).into_any(),
        4 => t!(i18n, stats.fri).into_any(),
        5 => t!(i18n, stats.sat).into_any(),
        _ => t!(i18n, stats.sun).into_any(),
    }
}

#[component]
fn FunnelStep(step: usize) -> impl IntoView {
    let i18n = use_i18n();
    match step {
        0 => t!(i18n, stats.step_visited).into_any(),
        1 => t!(i18n, stats.step_test_drive).into_any(),
        2 => t!(i18n, stats.step_credit).into_any(),
        _ => t!(i18n, stats.step_bought).into_any(),
    }
}
