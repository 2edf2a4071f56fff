//! The client list: search by name or phone fragment, with paging. The URL
//! holds the query so a link reproduces the view.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::i18n::*;
use crate::ui::{ErrorMessage, Loading, date};

pub const PAGE_SIZE: i64 = 25;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientRow {
    pub id: i64,
    pub full_name: Option<String>,
    pub phone: Option<String>,
    pub branch: String,
    pub visit_count: i64,
    pub last_visit_at: Option<i64>,
    pub car: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientPage {
    pub items: Vec<ClientRow>,
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
}

/// Reception sees the clients of its branch; managers and admins all.
#[server(prefix = "/rpc")]
pub async fn search_clients(q: String, page: i64) -> Result<ClientPage, AppError> {
    let user = crate::server::require_user().await?;
    let state = crate::server::app_state()?;
    let branch = if user.role.is_manager() {
        None
    } else {
        user.branch_id.or(Some(-1))
    };
    crate::server::clients::search(&state.db, &q, branch, page, PAGE_SIZE).await
}

#[component]
pub fn ClientsPage() -> impl IntoView {
    let i18n = use_i18n();
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();
    let page = move || {
        query
            .read()
            .get("page")
            .and_then(|p| p.parse::<i64>().ok())
            .unwrap_or(1)
    };
    let results = Resource::new(move || (q(), page()), |(q, page)| search_clients(q, page));

    view! {
        <leptos_meta::Title text=move || t_string!(i18n, clients.title) />
        <h1 class="page-title">{t!(i18n, clients.title)}</h1>
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
            <button type="submit" class="button primary">"🔍"</button>
        </form>
        <Transition fallback=Loading>
            {move || {
                results
                    .get()
                    .map(|result| match result {
                        Ok(page) => view! { <ClientTable page q=q() /> }.into_any(),
                        Err(error) => view! { <ErrorMessage error /> }.into_any(),
                    })
            }}
        </Transition>
    }
}

#[component]
fn ClientTable(page: ClientPage, q: String) -> impl IntoView {
    let i18n = use_i18n();
    let ClientPage {
        items,
        total,
        page,
        page_size,
    } = page;
    let pages = ((total + page_size - 1) / page_size).max(1);
    let link = move |p: i64| format!("/clients?q={}&page={p}", encode(&q));
    if items.is_empty() {
        return view! { <p class="muted card">{t!(i18n, clients.none)}</p> }.into_any();
    }
    view! {
        <p class="muted">{t!(i18n, clients.found, n = move || total)}</p>
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
                                    <td>{c.full_name.unwrap_or_else(|| "—".into())}</td>
                                    <td class="nowrap">{c.phone.unwrap_or_else(|| "—".into())}</td>
                                    <td class="hide-sm">{c.branch}</td>
                                    <td class="num">{c.visit_count}</td>
                                    <td class="hide-sm nowrap">
                                        {c.last_visit_at.map(|t| date(t, 300)).unwrap_or_default()}
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

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
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
