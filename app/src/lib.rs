//! Avtosalon Analitika: the pages and server functions, rendered on the
//! server (`ssr`) and hydrated in the browser (`hydrate`).

#![recursion_limit = "512"]

// The locale files (../locales) become the `i18n` module. The macro is the
// compile-time loader; its build-script successor pulls in a network-capable
// ICU exporter we do not need.
#[allow(deprecated)]
mod i18n_gen {
    leptos_i18n::load_locales!();
}
pub use i18n_gen::i18n;

pub mod auth;
pub mod camera;
pub mod clients;
pub mod dashboard;
pub mod error;
pub mod kiosk;
pub mod layout;
pub mod notify;
pub mod potential;
pub mod privacy;
pub mod profile;
pub mod scoring;
pub mod settings;
pub mod stats;
pub mod ui;
pub mod visits;
pub mod vocab;
pub mod webcam;

#[cfg(feature = "ssr")]
pub mod infra;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::path;

use crate::i18n::*;

/// The HTML document around the manager app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    page_document(options, None, App)
}

/// The name of the kiosk's own bundle (`frontend/kiosk`): the tablet
/// downloads the kiosk and nothing of the manager app.
pub const KIOSK_BUNDLE: &str = "kiosk";

/// The HTML document around the kiosk, rendered on the server only; it
/// loads the kiosk's bundle and the common stylesheet.
pub fn kiosk_shell(options: LeptosOptions) -> impl IntoView {
    page_document(options, Some(KIOSK_BUNDLE), KioskApp)
}

/// The document around `body`, hydrated by the bundle named `bundle` (the
/// manager app's when none is named).
fn page_document<V: IntoView + 'static>(
    options: LeptosOptions,
    bundle: Option<&'static str>,
    body: impl FnOnce() -> V,
) -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_content_policy(&options);
    // Here, not in the app: only the server knows the assets' version.
    let stylesheet = format!("/{}/{}.css", options.site_pkg_dir, options.output_name);
    let mut scripts = options.clone();
    if let Some(bundle) = bundle {
        scripts.output_name = bundle.into();
    }
    view! {
        <!DOCTYPE html>
        <html>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="theme-color" content="#0f3d5e" />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                <link rel="stylesheet" id="leptos" href=stylesheet />
                <AutoReload options />
                <HydrationScripts options=scripts />
                <MetaTags />
            </head>
            <body>{body()}</body>
        </html>
    }
}

/// The page's content policy: scripts only from this site or with this
/// response's nonce (Leptos puts it on its inline scripts), WebAssembly
/// allowed, nothing may frame the page and forms post only here.
#[cfg(feature = "ssr")]
fn set_content_policy(options: &LeptosOptions) {
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    // The development server reloads pages through a websocket.
    let reload = if options.env == leptos::config::Env::DEV {
        " ws:"
    } else {
        ""
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'{reload}; \
         object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    );
    if let Ok(value) = axum::http::HeaderValue::from_str(&policy) {
        response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
    }
}

/// The manager app: every page but the kiosk.
#[component]
pub fn App() -> impl IntoView {
    view! {
        <Common>
            <Router>
                <Routes fallback=|| view! { <ui::NotFound /> }>
                    <Route path=path!("/login") view=auth::LoginPage />
                    <ParentRoute path=path!("") view=layout::AppLayout>
                        <Route path=path!("") view=dashboard::DashboardPage />
                        <Route path=path!("clients") view=clients::ClientsPage />
                        <Route path=path!("clients/new") view=clients::NewClientPage />
                        <Route path=path!("clients/:id") view=clients::ClientCardPage />
                        <Route path=path!("stats") view=stats::StatsPage ssr=leptos_router::SsrMode::Async />
                        <Route path=path!("potential") view=potential::PotentialPage />
                        <Route path=path!("settings") view=settings::SettingsPage />
                        <Route path=path!("profile") view=profile::ProfilePage />
                    </ParentRoute>
                </Routes>
            </Router>
        </Common>
    }
}

/// The kiosk (`/kiosk`) as an app of its own: one page, no router.
#[component]
pub fn KioskApp() -> impl IntoView {
    view! {
        <Common>
            <kiosk::KioskPage />
        </Common>
    }
}

/// What both apps share: titles, the language and the hydration mark.
#[component]
fn Common(children: Children) -> impl IntoView {
    provide_meta_context();
    // The language choice outlives the browser session and applies site-wide.
    let cookie_options = leptos_i18n::context::CookieOptions::<Locale>::default()
        .path("/")
        .max_age(365i64 * 24 * 3600 * 1000);
    // Uzbek unless the user chose otherwise: the browser's language is not
    // a choice (a manager's laptop may well be set to English).
    let no_header_language =
        leptos_i18n::context::UseLocalesOptions::default().ssr_lang_header_getter(|| None);
    view! {
        <I18nContextProvider cookie_options=cookie_options ssr_lang_header_getter=no_header_language>
            <Title formatter=|text: String| format!("{text} · Avtosalon Analitika") />
            <HydrationMarker />
            {children()}
        </I18nContextProvider>
    }
}

/// Marks the document once the WASM has taken over, so browser tests (and
/// styles) know when clicks are handled.
#[component]
fn HydrationMarker() -> impl IntoView {
    Effect::new(move |_| {
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });
}
