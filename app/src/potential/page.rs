//! The potential-buyers page: ranked clients with reasons, and the model.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::{
    ActivateModel, LeadPage, LeadQuery, ModelPanel, ModelReport, PinModelFamily, RetrainModel,
    SaveScoreBands, load_leads, load_model_panel,
};
use crate::i18n::*;
use crate::ui::{ActionError, ErrorMessage, Loading, date};

#[component]
pub fn PotentialPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let retrain = ServerAction::<RetrainModel>::new();
    let activate = ServerAction::<ActivateModel>::new();
    let bands = ServerAction::<SaveScoreBands>::new();
    let pin = ServerAction::<PinModelFamily>::new();
    let current = move || {
        let q = query.read();
        LeadQuery {
            branch: q.get("branch").unwrap_or_default(),
            car: q.get("car").unwrap_or_default(),
            not_bought: q.get("not_bought").unwrap_or_default(),
            last_visit_days: q.get("last_visit_days").unwrap_or_default(),
            page: q.get("page").unwrap_or_default(),
            page_size: q.get("page_size").unwrap_or_default(),
        }
    };
    let refresh = move || {
        (
            retrain.version().get(),
            activate.version().get(),
            bands.version().get(),
            pin.version().get(),
        )
    };
    let leads = Resource::new(
        move || (current(), i18n.get_locale().as_str().to_string(), refresh()),
        |(q, lang, _)| load_leads(q, lang),
    );
    let panel = Resource::new(refresh, |_| load_model_panel());
    view! {
        <leptos_meta::Title text=crate::ui::title(move || t_string!(i18n, potential.title).to_string()) />
        <h1 class="page-title">{t!(i18n, potential.title)}</h1>
        <Transition fallback=Loading>
            {move || {
                panel
                    .get()
                    .map(|result| match result {
                        Ok(panel) => view! { <Filters panel query=current() /> }.into_any(),
                        Err(error) => view! { <ErrorMessage error /> }.into_any(),
                    })
            }}
        </Transition>
        <Transition fallback=Loading>
            {move || {
                leads
                    .get()
                    .map(|result| match result {
                        Ok(page) => view! { <LeadTable page query=current() /> }.into_any(),
                        Err(error) => view! { <ErrorMessage error /> }.into_any(),
                    })
            }}
        </Transition>
        <section class="card" data-test="model-panel">
            <div class="list-head">
                <h2>{t!(i18n, potential.model)}</h2>
                <ActionForm action=retrain attr:class="inline-form">
                    <button type="submit" class="button primary" data-test="retrain" disabled=move || retrain.pending().get()>
                        {move || {
                            if retrain.pending().get() {
                                t!(i18n, potential.training).into_any()
                            } else {
                                t!(i18n, potential.retrain).into_any()
                            }
                        }}
                    </button>
                </ActionForm>
            </div>
            <ActionError value=retrain.value() />
            {move || {
                retrain.value().get().and_then(Result::ok).map(|report| match report.incumbent {
                    // Not activated: said plainly, never a silent "done".
                    Some((old, _, _)) if !report.active => {
                        let new = report.id;
                        view! {
                            <p class="alert alert-warn" data-test="retrain-kept">
                                {t!(i18n, potential.kept_active, new = move || new, old = move || old)}
                            </p>
                        }
                            .into_any()
                    }
                    _ => view! { <p class="alert alert-ok" data-test="retrained">{t!(i18n, potential.retrained)}</p> }.into_any(),
                })
            }}
            <ActionError value=activate.value() />
            <Transition fallback=Loading>
                {move || {
                    panel
                        .get()
                        .and_then(Result::ok)
                        .map(|panel| view! { <ModelView panel activate bands pin /> })
                }}
            </Transition>
        </section>
    }
}

#[component]
fn Filters(panel: ModelPanel, query: LeadQuery) -> impl IntoView {
    let i18n = use_i18n();
    let not_bought =
        query.not_bought.is_empty() || query.not_bought == "1" || query.not_bought == "on";
    view! {
        <form method="get" action="/potential" class="card form-grid filters" data-test="lead-filter">
            <label class="field">
                <span>{t!(i18n, fields.branch)}</span>
                <select name="branch">
                    <crate::ui::BranchOptions branches=panel.branches selected=query.branch.clone() />
                </select>
            </label>
            <label class="field">
                <span>{t!(i18n, card.car)}</span>
                <select name="car">
                    <option value="">"—"</option>
                    {panel
                        .car_models
                        .into_iter()
                        .map(|(id, name)| view! { <option value=id.to_string() selected=query.car == id.to_string()>{name}</option> })
                        .collect_view()}
                </select>
            </label>
            <label class="field">
                <span>{t!(i18n, potential.last_visit_days)}</span>
                <input name="last_visit_days" inputmode="numeric" maxlength="4" value=query.last_visit_days.clone() />
            </label>
            <input type="hidden" name="not_bought" value="0" />
            <label class="check">
                <input type="checkbox" name="not_bought" value="1" checked=not_bought />
                <span>{t!(i18n, potential.not_bought)}</span>
            </label>
            <div class="form-actions">
                <button type="submit" class="button primary">{t!(i18n, stats.apply)}</button>
            </div>
        </form>
    }
}

#[component]
fn LeadTable(page: LeadPage, query: LeadQuery) -> impl IntoView {
    let i18n = use_i18n();
    let LeadPage {
        items,
        total,
        page,
        page_size,
        has_model,
    } = page;
    if !has_model {
        return view! { <p class="card muted">{t!(i18n, potential.no_model)}</p> }.into_any();
    }
    if items.is_empty() {
        return view! { <p class="card muted">{t!(i18n, clients.none)}</p> }.into_any();
    }
    let pages = ((total + page_size - 1) / page_size).max(1);
    let link = move |p: i64| {
        format!(
            "/potential?branch={}&car={}&not_bought={}&last_visit_days={}&page={p}",
            query.branch, query.car, query.not_bought, query.last_visit_days
        )
    };
    let first_rank = (page - 1) * page_size;
    view! {
        <div class="table-wrap card flush">
            <table class="table" data-test="lead-table">
                <thead>
                    <tr>
                        <th class="num">"#"</th>
                        <th>{t!(i18n, fields.full_name)}</th>
                        <th>{t!(i18n, potential.probability)}</th>
                        <th>{t!(i18n, potential.reasons)}</th>
                        <th class="hide-sm">{t!(i18n, card.car)}</th>
                        <th class="hide-sm">{t!(i18n, fields.branch)}</th>
                    </tr>
                </thead>
                <tbody>
                    {items
                        .into_iter()
                        .enumerate()
                        .map(|(i, lead)| {
                            let percent = format!("{:.0}%", lead.probability * 100.0);
                            let band = lead.band.clone();
                            view! {
                                <tr>
                                    <td class="num muted">{first_rank + i as i64 + 1}</td>
                                    <td>
                                        <a href=format!("/clients/{}", lead.client_id)>{lead.full_name.clone().unwrap_or_else(|| "—".into())}</a>
                                        <div class="muted small"><crate::ui::PhoneLink phone=lead.phone.clone() /></div>
                                    </td>
                                    <td class="nowrap">
                                        <span class=format!("badge band-{band}") data-test="probability">{percent}</span>
                                        " "
                                        <BandName band />
                                    </td>
                                    <td>
                                        <ul class="reasons" data-test="reasons">
                                            {lead.reasons.into_iter().map(|r| view! { <li>{r}</li> }).collect_view()}
                                        </ul>
                                    </td>
                                    <td class="hide-sm">{lead.car.unwrap_or_default()}</td>
                                    <td class="hide-sm">{lead.branch}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
        <nav class="pager">
            {(page > 1).then(|| view! { <a class="button ghost" href=link(page - 1)>{t!(i18n, clients.prev)}</a> })}
            <span class="muted">{t!(i18n, clients.page, n = move || page, total = move || pages)}</span>
            {(page < pages).then(|| view! { <a class="button ghost" href=link(page + 1)>{t!(i18n, clients.next)}</a> })}
        </nav>
    }
        .into_any()
}

#[component]
pub fn BandName(band: String) -> impl IntoView {
    let i18n = use_i18n();
    match band.as_str() {
        "hot" => t!(i18n, potential.hot).into_any(),
        "warm" => t!(i18n, potential.warm).into_any(),
        _ => t!(i18n, potential.cold).into_any(),
    }
}

fn fixed(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.3}")
    } else {
        "—".into()
    }
}

#[component]
fn ModelView(
    panel: ModelPanel,
    activate: ServerAction<ActivateModel>,
    bands: ServerAction<SaveScoreBands>,
    pin: ServerAction<PinModelFamily>,
) -> impl IntoView {
    let i18n = use_i18n();
    let Some(active) = panel.models.iter().find(|m| m.active).cloned() else {
        return view! { <p class="muted">{t!(i18n, potential.no_model)}</p> }.into_any();
    };
    // The newest training's models (one per family), side by side.
    let newest = panel.models.first().map(|m| m.trained_at);
    let compared: Vec<ModelReport> = panel
        .models
        .iter()
        .filter(|m| Some(m.trained_at) == newest)
        .cloned()
        .collect();
    let is_trees = active.family == "trees";
    let pinned = panel.pinned.clone();
    let ModelReport {
        trained_at,
        roc_auc,
        pr_auc,
        brier,
        baseline_roc_auc,
        baseline_pr_auc,
        train_count,
        test_count,
        train_buyers,
        test_buyers,
        alpha,
        calibration,
        coefficients,
        top,
        trees,
        ..
    } = active;
    let hot = format!("{:.0}", panel.hot * 100.0);
    let warm = format!("{:.0}", panel.warm * 100.0);
    let (ranked, bought) = top;
    // Buyers among any `ranked` hold-out clients, on average.
    let base = if test_count > 0 {
        (ranked as f64 * test_buyers as f64 / test_count as f64).round() as usize
    } else {
        0
    };
    let percent = (roc_auc * 100.0).round() as i64;
    let baseline = (baseline_roc_auc * 100.0).round() as i64;
    let looks_at: Vec<(String, f64)> = if is_trees {
        coefficients.iter().take(8).cloned().collect()
    } else {
        Vec::new()
    };
    let (raises, lowers): (Vec<_>, Vec<_>) = coefficients
        .into_iter()
        .filter(|_| !is_trees)
        .filter(|(_, weight)| weight.abs() >= 0.01)
        .partition(|(_, weight)| *weight > 0.0);
    let effects = move |list: Vec<(String, f64)>| {
        list.into_iter()
            .take(6)
            .map(|(name, weight)| {
                view! {
                    <tr>
                        <td>{move || crate::potential::feature_label(i18n.get_locale(), &name)}</td>
                        <td class="num" class:negative=weight < 0.0>{format!("{weight:+.2}")}</td>
                    </tr>
                }
            })
            .collect_view()
    };
    view! {
        <div class="plain-summary" data-test="model-summary">
            {(ranked > 0).then(|| view! {
                <p class="lead-line" data-test="model-top">
                    {t!(i18n, potential.plain_top, ranked = move || ranked, bought = move || bought, base = move || base)}
                </p>
            })}
            <p>{t!(i18n, potential.plain_pairs, percent = move || percent, baseline = move || baseline)}</p>
            <p class="muted small">
                {t!(i18n, potential.trained_at)} " " {date(trained_at, panel.offset_minutes)} " · "
                {t!(i18n, potential.trained_on, train = move || train_count, buyers = move || train_buyers)} " · "
                {t!(i18n, potential.tested_on, test = move || test_count, buyers = move || test_buyers)}
            </p>
        </div>
        <CompareModels compared />
        {if is_trees {
            view! {
                <div data-test="looks-at">
                    <h3>{t!(i18n, potential.looks_at)}</h3>
                    <table class="table compact">
                        <tbody>
                            {looks_at
                                .into_iter()
                                .map(|(name, share)| {
                                    view! {
                                        <tr>
                                            <td>{move || crate::potential::feature_label(i18n.get_locale(), &name)}</td>
                                            <td class="num">{format!("{:.0}%", share * 100.0)}</td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                    <p class="muted small">{t!(i18n, potential.looks_at_note)}</p>
                </div>
            }
                .into_any()
        } else {
            view! {
                <div class="card-grid">
                    <div>
                        <h3>{t!(i18n, potential.raises)}</h3>
                        <table class="table compact" data-test="raises">
                            <tbody>{effects(raises)}</tbody>
                        </table>
                    </div>
                    <div>
                        <h3>{t!(i18n, potential.lowers)}</h3>
                        <table class="table compact" data-test="lowers">
                            <tbody>{effects(lowers)}</tbody>
                        </table>
                    </div>
                </div>
            }
                .into_any()
        }}
        <ActionForm action=pin attr:class="form-grid" attr:data-test="model-pin">
            <label class="field">
                <span>{t!(i18n, potential.pin)}</span>
                <select name="family">
                    <option value="auto" selected=pinned == "auto">{t!(i18n, potential.pin_auto)}</option>
                    <option value="logistic" selected=pinned == "logistic">{t!(i18n, potential.pin_logistic)}</option>
                    <option value="trees" selected=pinned == "trees">{t!(i18n, potential.pin_trees)}</option>
                </select>
            </label>
            <div class="form-actions">
                <button type="submit" class="button">{t!(i18n, common.save)}</button>
            </div>
        </ActionForm>
        <ActionError value=pin.value() />
        <details class="spaced" data-test="technical">
            <summary class="button ghost small">{t!(i18n, potential.technical)}</summary>
            <div class="kpis">
                <div class="kpi">
                    <span class="kpi-label">"ROC AUC"</span>
                    <span class="kpi-value" data-test="roc-auc">{fixed(roc_auc)}</span>
                    <span class="kpi-note">{t!(i18n, potential.baseline)} " " {fixed(baseline_roc_auc)}</span>
                </div>
                <div class="kpi">
                    <span class="kpi-label">"PR AUC"</span>
                    <span class="kpi-value">{fixed(pr_auc)}</span>
                    <span class="kpi-note">{t!(i18n, potential.baseline)} " " {fixed(baseline_pr_auc)}</span>
                </div>
                <div class="kpi">
                    <span class="kpi-label">"Brier"</span>
                    <span class="kpi-value">{fixed(brier)}</span>
                    <span class="kpi-note">
                        {if is_trees {
                            t!(i18n, potential.trees_count, count = move || trees).into_any()
                        } else {
                            view! { "L2 α = " {alpha} }.into_any()
                        }}
                    </span>
                </div>
            </div>
            <p class="muted small">{t!(i18n, potential.honesty)}</p>
            <h3>{t!(i18n, potential.calibration)}</h3>
            <table class="table compact" data-test="calibration">
                <thead>
                    <tr>
                        <th>{t!(i18n, potential.predicted)}</th>
                        <th class="num">{t!(i18n, potential.clients)}</th>
                        <th class="num">{t!(i18n, potential.mean_predicted)}</th>
                        <th class="num">{t!(i18n, potential.observed)}</th>
                    </tr>
                </thead>
                <tbody>
                    {calibration
                        .into_iter()
                        .filter(|b| b.2 > 0)
                        .map(|(from, to, n, predicted, observed)| {
                            view! {
                                <tr>
                                    <td>{format!("{:.0}–{:.0}%", from * 100.0, to * 100.0)}</td>
                                    <td class="num">{n}</td>
                                    <td class="num">{format!("{:.1}%", predicted * 100.0)}</td>
                                    <td class="num">{format!("{:.1}%", observed * 100.0)}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </details>
        <details class="spaced">
            <summary class="button ghost small">{t!(i18n, potential.history)}</summary>
            <table class="table compact">
                <tbody>
                    {panel
                        .models
                        .into_iter()
                        .map(|m| {
                            let offset_minutes = panel.offset_minutes;
                            view! {
                                <tr>
                                    <td>"#" {m.id}</td>
                                    <td>{date(m.trained_at, offset_minutes)}</td>
                                    <td><FamilyName family=m.family.clone() /></td>
                                    <td>"ROC AUC " {fixed(m.roc_auc)}</td>
                                    <td>"PR AUC " {fixed(m.pr_auc)}</td>
                                    <td>
                                        {if m.active {
                                            view! { <span class="badge ok">{t!(i18n, settings.active)}</span> }.into_any()
                                        } else {
                                            view! {
                                                <ActionForm action=activate attr:class="inline-form">
                                                    <input type="hidden" name="id" value=m.id.to_string() />
                                                    <button type="submit" class="button ghost small">{t!(i18n, potential.activate)}</button>
                                                </ActionForm>
                                            }
                                                .into_any()
                                        }}
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
            <ActionForm action=bands attr:class="form-grid">
                <label class="field">
                    <span>{t!(i18n, potential.hot_from)}</span>
                    <input name="hot" inputmode="numeric" value=hot />
                </label>
                <label class="field">
                    <span>{t!(i18n, potential.warm_from)}</span>
                    <input name="warm" inputmode="numeric" value=warm />
                </label>
                <div class="form-actions">
                    <button type="submit" class="button">{t!(i18n, common.save)}</button>
                </div>
            </ActionForm>
            <ActionError value=bands.value() />
        </details>
    }
        .into_any()
}

#[component]
fn FamilyName(family: String) -> impl IntoView {
    let i18n = use_i18n();
    if family == "trees" {
        t!(i18n, potential.family_trees).into_any()
    } else {
        t!(i18n, potential.family_logistic).into_any()
    }
}

/// The newest training's models and the visit-count baseline on the same
/// hold-out: what each would have got right, in the same figures.
#[component]
fn CompareModels(compared: Vec<ModelReport>) -> impl IntoView {
    let i18n = use_i18n();
    let Some(first) = compared.first().cloned() else {
        return ().into_any();
    };
    let ranked = first.top.0;
    view! {
        <h3>{t!(i18n, potential.compare)}</h3>
        <div class="table-wrap">
            <table class="table compact" data-test="model-compare">
                <thead>
                    <tr>
                        <th>{t!(i18n, potential.compare_model)}</th>
                        <th class="num">{t!(i18n, potential.compare_top, ranked = move || ranked)}</th>
                        <th class="num">"ROC AUC"</th>
                        <th class="num">"PR AUC"</th>
                        <th class="num">"Brier"</th>
                    </tr>
                </thead>
                <tbody>
                    {compared
                        .into_iter()
                        .map(|m| {
                            view! {
                                <tr data-family=m.family.clone() class:active-row=m.active>
                                    <td>
                                        <FamilyName family=m.family.clone() />
                                        {m.active.then(|| view! { " " <span class="badge ok">{t!(i18n, settings.active)}</span> })}
                                    </td>
                                    <td class="num">{m.top.1}</td>
                                    <td class="num">{fixed(m.roc_auc)}</td>
                                    <td class="num">{fixed(m.pr_auc)}</td>
                                    <td class="num">{fixed(m.brier)}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                    <tr class="muted">
                        <td>{t!(i18n, potential.baseline_row)}</td>
                        <td class="num">"—"</td>
                        <td class="num">{fixed(first.baseline_roc_auc)}</td>
                        <td class="num">{fixed(first.baseline_pr_auc)}</td>
                        <td class="num">"—"</td>
                    </tr>
                </tbody>
            </table>
        </div>
    }
    .into_any()
}
