//! The dashboard: who is in the showroom now and how today compares with
//! the same weekday last week.

#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::i18n::*;
use crate::ui::{ErrorMessage, Loading, ServiceName, clock};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    pub now: i64,
    pub offset_minutes: i32,
    pub visits_today: i64,
    pub visits_last_week: i64,
    pub new_today: i64,
    pub returning_today: i64,
    pub unknown_today: i64,
    pub test_drives_today: i64,
    pub sales_today: i64,
    pub inside: Vec<InsideVisitor>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InsideVisitor {
    pub visit_id: i64,
    pub client_id: Option<i64>,
    pub name: Option<String>,
    pub branch: String,
    pub entered_at: i64,
    pub is_first_visit: bool,
    pub visit_count: i64,
    pub services: Vec<crate::vocab::ServiceKind>,
    pub has_photo: bool,
    /// The client's score is at or above the hot threshold.
    pub hot_lead: bool,
}

/// Today's figures; reception always sees its own branch.
#[server(prefix = "/rpc")]
pub async fn dashboard_overview(branch_id: Option<i64>) -> Result<Overview, AppError> {
    use crate::auth::ssr::{Need, require};
    let (caller, state) = require(Need::Staff).await?;
    let branch_id = caller.scope.branch().or(branch_id);
    crate::dashboard::ssr::overview(&state.db, branch_id, crate::infra::now()).await
}

/// The branches a caller may filter the dashboard by: none for reception
/// (it sees its own), every branch for managers and admins.
#[server(prefix = "/rpc")]
pub async fn dashboard_branches() -> Result<Vec<(i64, String)>, AppError> {
    use crate::auth::ssr::{Need, require};
    let (caller, state) = require(Need::Staff).await?;
    if caller.scope.branch().is_some() {
        return Ok(Vec::new());
    }
    Ok(crate::settings::ssr::branches::list(&state.db)
        .await?
        .into_iter()
        .map(|b| (b.id, b.name))
        .collect())
}

/// Where the chosen branch is remembered in the browser.
#[cfg(feature = "hydrate")]
const BRANCH_KEY: &str = "dashboard_branch";

#[component]
pub fn DashboardPage() -> impl IntoView {
    let i18n = use_i18n();
    // Bumped by the live feed: the server says when visits or services change.
    let changes = RwSignal::new(0u32);
    listen_for_changes(changes);
    let query = leptos_router::hooks::use_query_map();
    let branch = move || {
        query
            .read()
            .get("branch")
            .and_then(|b| b.parse::<i64>().ok())
    };
    remember_branch(branch);
    let overview = Resource::new(
        move || (changes.get(), branch()),
        |(_, branch)| dashboard_overview(branch),
    );
    let branches = Resource::new(|| (), |_| dashboard_branches());
    view! {
        <leptos_meta::Title text=crate::ui::title(move || t_string!(i18n, dashboard.title).to_string()) />
        <div class="page-head">
            <h1 class="page-title">{t!(i18n, dashboard.title)}</h1>
            <Transition fallback=|| ()>
                {move || {
                    branches
                        .get()
                        .and_then(Result::ok)
                        .filter(|b| !b.is_empty())
                        .map(|list| view! { <BranchFilter list selected=branch() /> })
                }}
            </Transition>
        </div>
        <Transition fallback=Loading>
            {move || {
                overview
                    .get()
                    .map(|result| match result {
                        Ok(o) => view! { <OverviewView overview=o /> }.into_any(),
                        Err(error) => view! { <ErrorMessage error /> }.into_any(),
                    })
            }}
        </Transition>
    }
}

/// The branch filter: choosing one shows that branch and is remembered in
/// this browser for the next visit to the dashboard.
#[component]
fn BranchFilter(list: Vec<(i64, String)>, selected: Option<i64>) -> impl IntoView {
    let i18n = use_i18n();
    let navigate = leptos_router::hooks::use_navigate();
    let on_change = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        #[cfg(feature = "hydrate")]
        if let Ok(Some(storage)) = window().local_storage() {
            let _ = storage.set_item(BRANCH_KEY, &value);
        }
        let path = if value.is_empty() {
            "/".to_string()
        } else {
            format!("/?branch={value}")
        };
        navigate(&path, Default::default());
    };
    view! {
        <label class="inline-field">
            <span class="sr-only">{t!(i18n, stats.branch)}</span>
            <select data-test="dashboard-branch" on:change=on_change aria-label=move || t_string!(i18n, stats.branch)>
                <crate::ui::BranchOptions branches=list selected=selected.map(|id| id.to_string()).unwrap_or_default() />
            </select>
        </label>
    }
}

/// Opening the dashboard without a branch in the address brings back the
/// branch chosen last time in this browser.
fn remember_branch(branch: impl Fn() -> Option<i64> + Send + Sync + 'static) {
    #[cfg(feature = "hydrate")]
    {
        let navigate = leptos_router::hooks::use_navigate();
        Effect::new(move |first: Option<()>| {
            if first.is_none()
                && branch().is_none()
                && let Ok(Some(storage)) = window().local_storage()
                && let Ok(Some(saved)) = storage.get_item(BRANCH_KEY)
                && saved.parse::<i64>().is_ok()
            {
                navigate(
                    &format!("/?branch={saved}"),
                    leptos_router::NavigateOptions {
                        replace: true,
                        ..Default::default()
                    },
                );
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = branch;
}

/// Subscribes to `/api/events` (server-sent events) and bumps `changes` on
/// every change; a slow poll covers a feed that dropped.
fn listen_for_changes(changes: RwSignal<u32>) {
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        use wasm_bindgen::prelude::*;
        let Ok(source) = web_sys::EventSource::new("/api/events") else {
            return;
        };
        let on_change = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_| {
            changes.update(|n| *n += 1);
        });
        let _ =
            source.add_event_listener_with_callback("change", on_change.as_ref().unchecked_ref());
        on_change.forget();
        // Marks the page once the feed is connected (browser tests wait for it).
        let on_open = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            if let Some(root) = document().document_element() {
                let _ = root.set_attribute("data-live", "true");
            }
        });
        let _ = source.add_event_listener_with_callback("open", on_open.as_ref().unchecked_ref());
        on_open.forget();
        let poll = set_interval_with_handle(
            move || changes.update(|n| *n += 1),
            std::time::Duration::from_secs(30),
        );
        let source = send_wrapper::SendWrapper::new(source);
        on_cleanup(move || {
            source.close();
            if let Ok(poll) = poll {
                poll.clear();
            }
        });
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = changes;
}

#[component]
fn OverviewView(overview: Overview) -> impl IntoView {
    let i18n = use_i18n();
    let Overview {
        now,
        offset_minutes,
        visits_today,
        visits_last_week,
        new_today,
        returning_today,
        unknown_today,
        test_drives_today,
        sales_today,
        inside,
    } = overview;
    let inside_count = inside.len();
    view! {
        <section class="kpis" data-test="kpis">
            <div class="kpi">
                <span class="kpi-label">{t!(i18n, dashboard.visits_today)}</span>
                <span class="kpi-value" data-test="visits-today">{visits_today}</span>
                <span class="kpi-note">{t!(i18n, dashboard.vs_last_week, n = move || visits_last_week)}</span>
            </div>
            <div class="kpi">
                <span class="kpi-label">
                    {t!(i18n, dashboard.new_clients)} " / " {t!(i18n, dashboard.returning)} " / " {t!(i18n, dashboard.unknown)}
                </span>
                <span class="kpi-value" data-test="new-returning-unknown">{new_today} " / " {returning_today} " / " {unknown_today}</span>
            </div>
            <div class="kpi">
                <span class="kpi-label">{t!(i18n, dashboard.test_drives)}</span>
                <span class="kpi-value">{test_drives_today}</span>
            </div>
            <div class="kpi">
                <span class="kpi-label">{t!(i18n, dashboard.sales)}</span>
                <span class="kpi-value">{sales_today}</span>
            </div>
        </section>
        <section class="card">
            <h2>{t!(i18n, dashboard.in_showroom)} " " <span class="count">{inside_count}</span></h2>
            {if inside.is_empty() {
                view! { <p class="muted">{t!(i18n, dashboard.nobody_inside)}</p> }.into_any()
            } else {
                view! {
                    <ul class="inside-list" data-test="inside-list">
                        {inside
                            .into_iter()
                            .map(|v| view! { <InsideRow visitor=v now offset_minutes /> })
                            .collect_view()}
                    </ul>
                }
                    .into_any()
            }}
        </section>
    }
}

#[component]
fn InsideRow(visitor: InsideVisitor, now: i64, offset_minutes: i32) -> impl IntoView {
    let i18n = use_i18n();
    let minutes = ((now - visitor.entered_at) / 60).max(0);
    let name = match visitor.name.clone() {
        Some(name) => name.into_any(),
        None => t!(i18n, dashboard.unknown_visitor).into_any(),
    };
    let name = match visitor.client_id {
        Some(_) => view! { <strong>{name}</strong> }.into_any(),
        None => view! { <em class="muted">{name}</em> }.into_any(),
    };
    let badge = if visitor.client_id.is_none() {
        None
    } else if visitor.is_first_visit {
        Some(view! { <span class="badge new">{t!(i18n, dashboard.new_badge)}</span> }.into_any())
    } else {
        let count = visitor.visit_count;
        Some(
            view! {
                <span class="badge returning">
                    {t!(i18n, dashboard.returning_badge)} " · " {t!(i18n, dashboard.visit_no, n = move || count)}
                </span>
            }
                .into_any(),
        )
    };
    let hot = visitor
        .hot_lead
        .then(|| view! { <span class="badge hot" data-test="hot-lead">{t!(i18n, dashboard.hot_badge)}</span> });
    let row = view! {
            {match visitor.client_id.filter(|_| visitor.has_photo) {
                Some(id) => view! { <img class="avatar photo" src=format!("/api/clients/{id}/photo") alt="" /> }.into_any(),
                None => view! {
                    <div class="avatar" aria-hidden="true">
                        {visitor.name.as_deref().and_then(|n| n.chars().next()).unwrap_or('?').to_string()}
                    </div>
                }
                    .into_any(),
            }}
            <div class="inside-main">
                <div>{name} " " {badge} " " {hot}</div>
                <div class="muted small" data-test="inside-where">
                    {visitor.branch.clone()} " · " {clock(visitor.entered_at, offset_minutes)} " · "
                    {t!(i18n, dashboard.since_minutes, n = move || minutes)}
                </div>
            </div>
            <div class="chips">
                {visitor
                    .services
                    .into_iter()
                    .map(|kind| view! { <span class="chip"><ServiceName kind /></span> })
                    .collect_view()}
            </div>
    };
    // A known visitor's row opens their card.
    match visitor.client_id {
        Some(id) => view! {
            <li class="inside-row linked">
                <a class="inside-link" href=format!("/clients/{id}") data-test="inside-link">{row}</a>
            </li>
        }
            .into_any(),
        None => view! { <li class="inside-row">{row}</li> }.into_any(),
    }
}
