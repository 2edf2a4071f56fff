//! The client list: search by name or phone fragment, with paging. The URL
//! holds the query so a link reproduces the view.

#[cfg(feature = "ssr")]
pub mod ssr;

pub mod card;
pub mod card_page;
mod filters;

pub use card::ClientForm;
pub use card_page::{ClientCardPage, NewClientPage};

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::i18n::*;
use crate::ui::{ErrorMessage, Loading, date};

pub const PAGE_SIZE: i64 = 25;
pub const MAX_PAGE_SIZE: i64 = 200;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ClientRow {
    pub id: i64,
    pub full_name: Option<String>,
    pub phone: Option<String>,
    pub branch_id: i64,
    pub branch: String,
    pub gender: Option<String>,
    pub birth_year: Option<i64>,
    pub source: String,
    pub car: Option<String>,
    pub visit_count: i64,
    pub first_visit_at: Option<i64>,
    pub last_visit_at: Option<i64>,
    /// Minutes east of UTC at the client's branch, to show its dates.
    pub offset_minutes: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientPage {
    pub items: Vec<ClientRow>,
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
}

/// The client list's filters exactly as typed (URL or API query); the server
/// validates them and answers a clear error for each bad one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub branch: String,
    #[serde(default)]
    pub gender: String,
    #[serde(default)]
    pub age_min: String,
    #[serde(default)]
    pub age_max: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub car: String,
    #[serde(default)]
    pub test_drive: String,
    #[serde(default)]
    pub bought: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub page: String,
    #[serde(default)]
    pub page_size: String,
}

impl ClientQuery {
    pub const FIELDS: [&'static str; 14] = [
        "q",
        "branch",
        "gender",
        "age_min",
        "age_max",
        "source",
        "car",
        "test_drive",
        "bought",
        "from",
        "to",
        "sort",
        "page",
        "page_size",
    ];

    pub fn get(&self, name: &str) -> &str {
        match name {
            "q" => &self.q,
            "branch" => &self.branch,
            "gender" => &self.gender,
            "age_min" => &self.age_min,
            "age_max" => &self.age_max,
            "source" => &self.source,
            "car" => &self.car,
            "test_drive" => &self.test_drive,
            "bought" => &self.bought,
            "from" => &self.from,
            "to" => &self.to,
            "sort" => &self.sort,
            "page" => &self.page,
            _ => &self.page_size,
        }
    }

    pub fn set(&mut self, name: &str, value: String) {
        match name {
            "q" => self.q = value,
            "branch" => self.branch = value,
            "gender" => self.gender = value,
            "age_min" => self.age_min = value,
            "age_max" => self.age_max = value,
            "source" => self.source = value,
            "car" => self.car = value,
            "test_drive" => self.test_drive = value,
            "bought" => self.bought = value,
            "from" => self.from = value,
            "to" => self.to = value,
            "sort" => self.sort = value,
            "page" => self.page = value,
            "page_size" => self.page_size = value,
            _ => {}
        }
    }

    /// The URL query that reproduces this view (empty fields left out).
    pub fn to_query_string(&self) -> String {
        Self::FIELDS
            .iter()
            .filter(|f| !self.get(f).is_empty())
            .map(|f| format!("{f}={}", encode(self.get(f))))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// Reception sees the clients of its branch; managers and admins all.
#[server(prefix = "/rpc")]
pub async fn search_clients(query: ClientQuery) -> Result<ClientPage, AppError> {
    use crate::auth::ssr::{Need, require};
    let (caller, state) = require(Need::Staff).await?;
    crate::clients::ssr::search_as(&state.db, caller.scope, &query, crate::infra::now()).await
}

#[component]
pub fn ClientsPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let current = move || {
        let map = query.read();
        let mut q = ClientQuery::default();
        for field in ClientQuery::FIELDS {
            if let Some(value) = map.get(field) {
                q.set(field, value);
            }
        }
        q
    };
    let q = move || current().q;
    let results = Resource::new(current, search_clients);
    let choices = Resource::new(|| (), |_| card::client_form_choices());

    view! {
        <leptos_meta::Title text=crate::ui::title(move || t_string!(i18n, clients.title).to_string()) />
        <div class="page-head">
            <h1 class="page-title">{t!(i18n, clients.title)}</h1>
            <a class="button primary" href="/clients/new" data-test="add-client">"+ " {t!(i18n, card.add_client)}</a>
        </div>
        <form method="get" action="/clients" class="search-bar" role="search">
            <input
                type="search"
                name="q"
                maxlength="100"
                value=q
                placeholder=move || t_string!(i18n, clients.search)
                aria-label=move || t_string!(i18n, clients.search)
                data-test="client-search"
            />
            // An icon drawn, not an emoji: tablets without an emoji font showed a box.
            <button type="submit" class="button primary" aria-label=move || t_string!(i18n, clients.search)>
                <svg width="18" height="18" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2.5" stroke-linecap="round" aria-hidden="true">
                    <circle cx="11" cy="11" r="7" />
                    <line x1="16.5" y1="16.5" x2="21" y2="21" />
                </svg>
            </button>
            <Transition fallback=|| ()>
                {move || {
                    choices.get().map(|c| view! { <filters::FilterControls query=current() choices=c.ok() /> })
                }}
            </Transition>
        </form>
        <Transition fallback=|| ()>
            {move || {
                choices.get().map(|c| view! { <filters::FilterChips query=current() choices=c.ok() /> })
            }}
        </Transition>
        <Transition fallback=Loading>
            {move || {
                results
                    .get()
                    .map(|result| match result {
                        Ok(page) => view! { <ClientTable page query=current() /> }.into_any(),
                        Err(error) => view! { <ErrorMessage error /> }.into_any(),
                    })
            }}
        </Transition>
    }
}

#[component]
fn ClientTable(page: ClientPage, query: ClientQuery) -> impl IntoView {
    let i18n = use_i18n();
    let ClientPage {
        items,
        total,
        page,
        page_size,
    } = page;
    let pages = ((total + page_size - 1) / page_size).max(1);
    let export_query = query.to_query_string();
    let searched = query.q.clone();
    let link = move |p: i64| {
        let mut q = query.clone();
        q.page = p.to_string();
        format!("/clients?{}", q.to_query_string())
    };
    if items.is_empty() {
        return view! { <p class="muted card">{t!(i18n, clients.none)}</p> }.into_any();
    }
    view! {
        <div class="list-head">
            <p class="muted" data-test="client-found" data-q=searched>{t!(i18n, clients.found, n = move || total)}</p>
            <ExportLinks query=export_query />
        </div>
        <div class="table-wrap card flush">
            <table class="table" data-test="client-table">
                <thead>
                    <tr>
                        <th>{t!(i18n, fields.full_name)}</th>
                        <th>{t!(i18n, clients.phone)}</th>
                        <th class="hide-sm">{t!(i18n, fields.branch)}</th>
                        <th class="num">{t!(i18n, clients.visits)}</th>
                        <th class="hide-sm">{t!(i18n, clients.last_visit)}</th>
                        <th class="hide-sm">{t!(i18n, clients.car)}</th>
                    </tr>
                </thead>
                <tbody>
                    {items
                        .into_iter()
                        .map(|c| {
                            view! {
                                <tr>
                                    <td>
                                        <a href=format!("/clients/{}", c.id)>{c.full_name.unwrap_or_else(|| "—".into())}</a>
                                    </td>
                                    <td><crate::ui::PhoneLink phone=c.phone /></td>
                                    <td class="hide-sm">{c.branch}</td>
                                    <td class="num">{c.visit_count}</td>
                                    <td class="hide-sm nowrap">
                                        {c.last_visit_at.map(|t| date(t, c.offset_minutes)).unwrap_or_default()}
                                    </td>
                                    <td class="hide-sm">{c.car.unwrap_or_default()}</td>
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

/// Download links for managers and admins (reception may not export).
#[component]
fn ExportLinks(query: String) -> impl IntoView {
    let i18n = use_i18n();
    let user = crate::auth::use_user();
    let sep = if query.is_empty() { "" } else { "&" };
    // Headers and words in the language the manager reads the page in.
    let link = move |format: &str| {
        let lang = i18n.get_locale().as_str();
        format!("/api/export/clients?{query}{sep}format={format}&lang={lang}")
    };
    move || {
        let (csv, xlsx) = (link("csv"), link("xlsx"));
        let allowed = user
            .get()
            .and_then(Result::ok)
            .flatten()
            .is_some_and(|u| u.role.is_manager());
        allowed.then(|| {
            view! {
                <span class="export-links">
                    <a class="button ghost small" href=csv download data-test="export-csv">{t!(i18n, clients.export_csv)}</a>
                    <a class="button ghost small" href=xlsx download data-test="export-xlsx">{t!(i18n, clients.export_xlsx)}</a>
                </span>
            }
        })
    }
}

/// Percent-encodes a query value.
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
