//! The clients list's filters and sort as controls inside the search form
//! (a new search keeps them, the URL holds them), and the active ones as
//! chips that remove themselves.

use leptos::prelude::*;

use super::ClientQuery;
use super::card::FormChoices;
use crate::i18n::*;
use crate::vocab::Source;

/// Sort keys offered, with what they mean; "" is the default (latest visit first).
const SORTS: [&str; 7] = [
    "",
    "name",
    "-name",
    "-visits",
    "-first_visit",
    "age",
    "-age",
];

fn sort_label(i18n: leptos_i18n::I18nContext<Locale>, key: &str) -> AnyView {
    match key {
        "name" => t!(i18n, clients.sort_name).into_any(),
        "-name" => t!(i18n, clients.sort_name_desc).into_any(),
        "-visits" => t!(i18n, clients.sort_visits).into_any(),
        "-first_visit" => t!(i18n, clients.sort_newest).into_any(),
        "age" => t!(i18n, clients.sort_youngest).into_any(),
        "-age" => t!(i18n, clients.sort_oldest).into_any(),
        _ => t!(i18n, clients.sort_last_visit).into_any(),
    }
}

/// The filter fields a chip stands for (the age range is one chip).
const CHIP_FIELDS: [&[&str]; 9] = [
    &["branch"],
    &["gender"],
    &["age_min", "age_max"],
    &["source"],
    &["car"],
    &["test_drive"],
    &["bought"],
    &["from", "to"],
    &["sort"],
];

fn without(query: &ClientQuery, fields: &[&str]) -> String {
    let mut q = query.clone();
    for f in fields {
        q.set(f, String::new());
    }
    q.page = String::new();
    format!("/clients?{}", q.to_query_string())
}

fn yes_no(i18n: leptos_i18n::I18nContext<Locale>, value: &str) -> AnyView {
    if matches!(value, "1" | "true" | "yes") {
        t!(i18n, clients.yes).into_any()
    } else {
        t!(i18n, clients.no).into_any()
    }
}

/// A chip's words: the filter and its value.
fn chip_text(
    i18n: leptos_i18n::I18nContext<Locale>,
    query: &ClientQuery,
    fields: &[&str],
    choices: &Option<FormChoices>,
) -> AnyView {
    let name_of = |list: Option<&Vec<(i64, String)>>, id: &str| {
        list.and_then(|l| l.iter().find(|(i, _)| i.to_string() == id))
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let value = query.get(fields[0]).to_string();
    match fields[0] {
        "branch" => {
            let name = name_of(choices.as_ref().map(|c| &c.branches), &value);
            view! { {t!(i18n, stats.branch)} ": " {name} }.into_any()
        }
        "gender" => {
            let g = if value == "male" {
                t!(i18n, card.male).into_any()
            } else {
                t!(i18n, card.female).into_any()
            };
            view! { {t!(i18n, card.gender)} ": " {g} }.into_any()
        }
        "age_min" => {
            let (lo, hi) = (query.age_min.clone(), query.age_max.clone());
            view! { {t!(i18n, clients.age)} ": " {lo} "–" {hi} }.into_any()
        }
        "source" => {
            let label = Source::parse(&value)
                .map(|s| (move || s.label(i18n.get_locale())).into_any())
                .unwrap_or_else(|| value.clone().into_any());
            view! { {t!(i18n, card.source)} ": " {label} }.into_any()
        }
        "car" => {
            let name = name_of(choices.as_ref().map(|c| &c.car_models), &value);
            view! { {t!(i18n, card.car)} ": " {name} }.into_any()
        }
        "test_drive" => {
            view! { {t!(i18n, clients.test_drive)} ": " {yes_no(i18n, &value)} }.into_any()
        }
        "bought" => view! { {t!(i18n, clients.bought)} ": " {yes_no(i18n, &value)} }.into_any(),
        "from" => {
            let (from, to) = (query.from.clone(), query.to.clone());
            view! { {t!(i18n, clients.first_visit)} ": " {from} "–" {to} }.into_any()
        }
        _ => view! { {t!(i18n, clients.sort)} ": " {sort_label(i18n, &value)} }.into_any(),
    }
}

/// Active filters as chips; each one's ✕ is a link to the list without it.
#[component]
pub(super) fn FilterChips(query: ClientQuery, choices: Option<FormChoices>) -> impl IntoView {
    let i18n = use_i18n();
    let active: Vec<&[&str]> = CHIP_FIELDS
        .into_iter()
        .filter(|fields| fields.iter().any(|f| !query.get(f).is_empty()))
        .collect();
    (!active.is_empty()).then(|| {
        let clear = without(&query, &CHIP_FIELDS.concat());
        view! {
            <div class="filter-chips" data-test="filter-chips">
                {active
                    .into_iter()
                    .map(|fields| {
                        let text = chip_text(i18n, &query, fields, &choices);
                        view! {
                            <a class="filter-chip" href=without(&query, fields) data-filter=fields[0]
                                aria-label=move || t_string!(i18n, clients.remove_filter)>
                                <span>{text}</span>
                                <span aria-hidden="true">" ✕"</span>
                            </a>
                        }
                    })
                    .collect_view()}
                <a class="small" href=clear data-test="clear-filters">{t!(i18n, clients.clear_filters)}</a>
            </div>
        }
    })
}

/// The filter controls, inside the search form. Returned type-erased (and the
/// grid inside too): as one nested type its SSR future was big enough to
/// overflow a 2 MiB thread stack in a debug build.
#[component]
pub(super) fn FilterControls(query: ClientQuery, choices: Option<FormChoices>) -> impl IntoView {
    let i18n = use_i18n();
    let active = CHIP_FIELDS
        .iter()
        .filter(|fields| fields.iter().any(|f| !query.get(f).is_empty()))
        .count();
    let (car_models, branches, own_branch) = match choices {
        Some(c) => (c.car_models, c.branches, c.own_branch),
        None => (Vec::new(), Vec::new(), None),
    };
    let options = |list: Vec<(i64, String)>, selected: String| {
        list.into_iter()
            .map(|(id, name)| {
                let is = id.to_string() == selected;
                view! { <option value=id.to_string() selected=is>{name}</option> }
            })
            .collect_view()
    };
    let flag = |name: &'static str, value: String, label: AnyView| {
        view! {
            <label class="field">
                <span>{label}</span>
                <select name=name data-test=format!("filter-{name}")>
                    <option value="" selected=value.is_empty()>{t!(i18n, clients.any)}</option>
                    <option value="1" selected=value == "1">{t!(i18n, clients.yes)}</option>
                    <option value="0" selected=value == "0">{t!(i18n, clients.no)}</option>
                </select>
            </label>
        }
    };
    let q = query;
    view! {
        <details class="filters" open={active > 0} data-test="filters">
            <summary class="button ghost small">
                {t!(i18n, clients.filters)} {(active > 0).then(|| format!(" ({active})"))}
            </summary>
            {view! {
            <div class="form-grid filters-grid">
                // Reception sees its own branch only: no branch choice.
                {own_branch.is_none().then(|| view! {
                    <label class="field">
                        <span>{t!(i18n, stats.branch)}</span>
                        <select name="branch" data-test="filter-branch">
                            <crate::ui::BranchOptions branches selected=q.branch.clone() />
                        </select>
                    </label>
                })}
                <label class="field">
                    <span>{t!(i18n, card.gender)}</span>
                    <select name="gender" data-test="filter-gender">
                        <option value="" selected=q.gender.is_empty()>{t!(i18n, clients.any)}</option>
                        <option value="male" selected=q.gender == "male">{t!(i18n, card.male)}</option>
                        <option value="female" selected=q.gender == "female">{t!(i18n, card.female)}</option>
                    </select>
                </label>
                <label class="field">
                    <span>{t!(i18n, clients.age_from)}</span>
                    <input name="age_min" type="number" min="0" max="150" inputmode="numeric" value=q.age_min.clone() />
                </label>
                <label class="field">
                    <span>{t!(i18n, clients.age_to)}</span>
                    <input name="age_max" type="number" min="0" max="150" inputmode="numeric" value=q.age_max.clone() />
                </label>
                <label class="field">
                    <span>{t!(i18n, card.source)}</span>
                    <select name="source" data-test="filter-source">
                        <option value="" selected=q.source.is_empty()>{t!(i18n, clients.any)}</option>
                        {Source::ALL
                            .into_iter()
                            .map(|s| {
                                let is = q.source == s.as_str();
                                view! { <option value=s.as_str() selected=is>{move || s.label(i18n.get_locale())}</option> }
                            })
                            .collect_view()}
                    </select>
                </label>
                <label class="field">
                    <span>{t!(i18n, card.car)}</span>
                    <select name="car" data-test="filter-car">
                        <option value="">{t!(i18n, clients.any)}</option>
                        {options(car_models, q.car.clone())}
                    </select>
                </label>
                {flag("test_drive", q.test_drive.clone(), t!(i18n, clients.test_drive).into_any())}
                {flag("bought", q.bought.clone(), t!(i18n, clients.bought).into_any())}
                <label class="field">
                    <span>{t!(i18n, clients.first_visit_from)}</span>
                    <input name="from" type="date" value=q.from.clone() />
                </label>
                <label class="field">
                    <span>{t!(i18n, clients.first_visit_to)}</span>
                    <input name="to" type="date" value=q.to.clone() />
                </label>
                <label class="field">
                    <span>{t!(i18n, clients.sort)}</span>
                    <select name="sort" data-test="filter-sort">
                        {SORTS
                            .into_iter()
                            .map(|key| view! { <option value=key selected=q.sort == key>{sort_label(i18n, key)}</option> })
                            .collect_view()}
                    </select>
                </label>
                <div class="form-actions">
                    <button type="submit" class="button primary" data-test="apply-filters">{t!(i18n, clients.apply_filters)}</button>
                </div>
            </div>
        }.into_any()}
        </details>
    }
    .into_any()
}
