//! Serving: start-up (data directory, database, first admin, demo data), the
//! whole HTTP application, and the `serve` command that runs it with the
//! bot and the background jobs until a shutdown signal.

use app::auth::ssr::StaffBackend;
use app::infra::AppState;
use app::infra::Db;
use app::settings::ssr::staff::AdminBootstrap;
use app::{App, kiosk_shell, shell};
use axum::Router;
use axum_login::AuthManagerLayerBuilder;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{AxumRouteListing, LeptosRoutes, generate_route_list};
use std::sync::LazyLock;
use tower_sessions::cookie::{SameSite, time::Duration};
use tower_sessions::{CachingSessionStore, Expiry, MemoryStore, SessionManagerLayer};

use crate::{Config, ServerError, bot, demo, guard, http, jobs, prepare_data_dir, shield};

/// Where the built site (WASM, CSS, public files) is, as cargo-leptos set it.
pub fn leptos_options(config: &Config) -> LeptosOptions {
    let env =
        |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_string());
    LeptosOptions::builder()
        .output_name(option_env!("LEPTOS_OUTPUT_NAME").unwrap_or("avtosalon"))
        .site_root(env("LEPTOS_SITE_ROOT", "target/site"))
        .site_pkg_dir(env("LEPTOS_SITE_PKG_DIR", "pkg"))
        .site_addr(config.bind)
        .reload_port(env("LEPTOS_RELOAD_PORT", "3001").parse().unwrap_or(3001))
        .env(if env("LEPTOS_ENV", "PROD").eq_ignore_ascii_case("DEV") {
            leptos::config::Env::DEV
        } else {
            leptos::config::Env::PROD
        })
        .build()
}

/// What start-up did, for the message printed to the operator.
pub struct Started {
    pub state: AppState,
    pub admin: AdminBootstrap,
    pub demo_generated: Option<demo::Summary>,
    /// This process's claim on a PostgreSQL database: kept while serving.
    pub claim: app::infra::db::ServerClaim,
}

/// Opens the data directory and database, creates the first admin and, on a
/// new database, the demo data.
pub async fn start(config: &Config) -> Result<Started, ServerError> {
    prepare_data_dir(&config.data_dir)?;
    let db = Db::open_with(&config.database_url(), config.database_pool_size).await?;
    let claim = db.claim_server().await?.ok_or(ServerError::DatabaseBusy)?;
    let admin = app::settings::ssr::staff::ensure_admin(&db, config.admin_password.clone())
        .await
        .map_err(ServerError::Admin)?;
    // After an upgrade that changed how names are folded for search.
    let refolded = app::clients::ssr::refold_search_texts(&db)
        .await
        .map_err(ServerError::SearchIndex)?;
    if refolded > 0 {
        tracing::info!(clients = refolded, "client search index brought up to date");
    }
    let demo_generated = if !config.no_demo_data && demo::database_is_empty(&db).await? {
        let summary = demo::generate(&db, config.demo_clients, 42, false).await?;
        // A first model, so potential buyers are ranked from the first start.
        if let Err(error) = app::scoring::ssr::train_and_activate(&db, None).await {
            tracing::info!(%error, "no purchase model on the demo data");
        }
        Some(summary)
    } else {
        None
    };
    let state = AppState::new(db, leptos_options(config), config.data_dir.clone())
        .with_public_url(config.public_url.clone())
        .with_https_only(config.tls_bind.is_some())
        .with_plain_port(config.bind.port())
        .with_local_ca(config.tls_bind.is_some() && config.tls_cert.is_none());
    Ok(Started {
        state,
        admin,
        demo_generated,
        claim,
    })
}

/// The application's pages, listed once per process.
///
/// Listing renders the whole app with resource loading switched off by a
/// process-wide flag in Leptos; a page rendered in that moment (by another
/// app in the same process, as parallel tests run them) would wait for its
/// data forever. Listing once, before any router exists, closes that window.
pub fn pages() -> Vec<AxumRouteListing> {
    static PAGES: LazyLock<Vec<AxumRouteListing>> = LazyLock::new(|| generate_route_list(App));
    PAGES.clone()
}

/// Every page's path: the manager app's and the kiosk's (for tests that
/// must reach them all).
pub fn page_paths() -> Vec<String> {
    let mut paths: Vec<String> = pages().iter().map(|page| page.path().to_string()).collect();
    paths.push("/kiosk".to_string());
    paths
}

/// No request body may be larger: a document upload (10 MB) or a kiosk photo.
const MAX_BODY: usize = 12 * 1024 * 1024;

/// The whole HTTP application.
pub async fn router(state: AppState) -> Result<Router, ServerError> {
    let store = crate::sessions::DbSessionStore::open(&state.db).await?;
    // Sessions are read on every request; memory answers them, the database keeps
    // them across restarts (every save and delete goes to both).
    let store = CachingSessionStore::new(MemoryStore::default(), store);
    let sessions = SessionManagerLayer::new(store)
        .with_name("avtosalon_session")
        .with_secure(state.secure_cookies())
        .with_same_site(SameSite::Lax)
        .with_http_only(true)
        .with_expiry(Expiry::OnInactivity(Duration::hours(12)));
    let auth_layer = AuthManagerLayerBuilder::new(
        StaffBackend::new(state.db.clone(), state.password_checks.clone()),
        sessions,
    )
    .build();

    let routes = pages();
    let context_state = state.clone();
    // Pages ask for the built assets under their version, which browsers
    // may then keep for a year; the plain `/pkg/…` names keep working.
    let pkg_dir = state.leptos_options.site_pkg_dir.clone();
    let version = asset_version(&state.leptos_options);
    let mut shell_options = state.leptos_options.clone();
    shell_options.site_pkg_dir = format!("{pkg_dir}/{version}").into();
    // The kiosk is an app of its own (no router, its own bundle), so its
    // page is rendered here rather than listed with the manager app's; whole
    // (its first screen's data awaited), so it paints without any script.
    let kiosk_context = state.clone();
    let kiosk_options = shell_options.clone();
    let kiosk_page = leptos_axum::render_app_async_with_context(
        move || provide_context(kiosk_context.clone()),
        move || kiosk_shell(kiosk_options.clone()),
    );
    let assets = tower_http::services::ServeDir::new(format!(
        "{}/{pkg_dir}",
        state.leptos_options.site_root
    ))
    .precompressed_br()
    .precompressed_gzip();
    let router = http::router(&state)
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(context_state.clone()),
            move || shell(shell_options.clone()),
        )
        .route("/kiosk", axum::routing::get(kiosk_page))
        // Built assets straight from disk with the request's own headers, so
        // a browser revalidating gets a 304 (Leptos's file handler drops
        // If-Modified-Since), precompressed files when the build made them.
        .nest(
            &format!("/{pkg_dir}"),
            Router::new()
                .nest_service(&format!("/{version}"), assets.clone())
                .fallback_service(assets),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::refuse_anonymous,
        ))
        .layer(axum::middleware::from_fn(guard::rpc_error_status))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            shield::refuse_cross_site,
        ))
        .layer(auth_layer)
        // No request body is larger than a document upload (server functions
        // read theirs whole, so the limit must sit in front of them).
        .layer(tower_http::limit::RequestBodyLimitLayer::new(MAX_BODY))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            shield::security_headers,
        ))
        // Pages, JSON and SVG charts go out gzip or brotli as the browser
        // asks (a 490 KB statistics page is ~40 KB); built assets come
        // precompressed from disk when `make run` made them, and event
        // streams are never compressed (each event must leave at once).
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state);
    Ok(router)
}

/// The built assets' version, `v-` and a hash of every file the build
/// wrote to the site's package directory (their `.gz`/`.br` copies follow
/// from them): a new build is a new address, so an address may be cached
/// for good (`shield::security_headers`).
pub fn asset_version(options: &LeptosOptions) -> String {
    use std::hash::{Hash, Hasher};
    let dir = std::path::Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let is_copy = |f: &std::path::PathBuf| f.extension().is_some_and(|e| e == "gz" || e == "br");
    for file in files.iter().filter(|f| f.is_file() && !is_copy(f)) {
        file.file_name().hash(&mut hasher);
        std::fs::read(file).unwrap_or_default().hash(&mut hasher);
    }
    format!("{}{:016x}", shield::VERSIONED_ASSET, hasher.finish())
}

/// Deletes expired sessions now and then.
pub fn spawn_session_cleanup(state: &AppState) -> tokio::task::JoinHandle<()> {
    use tower_sessions::ExpiredDeletion;
    let db = state.db.clone();
    tokio::spawn(async move {
        let store = match crate::sessions::DbSessionStore::open(&db).await {
            Ok(store) => store,
            Err(error) => {
                tracing::warn!(%error, "session cleanup not started");
                return;
            }
        };
        if let Err(error) = store
            .continuously_delete_expired(tokio::time::Duration::from_secs(3600))
            .await
        {
            tracing::warn!(%error, "session cleanup stopped");
        }
    })
}

/// The `serve` command: the web app, the API, the bot and the jobs, until
/// Ctrl-C or SIGTERM.
pub async fn run(config: &Config) -> Result<(), ServerError> {
    tracing::info!(?config, "starting");
    crate::prepare_data_dir(&config.data_dir)?;
    let _lock = crate::lock_data_dir(&config.data_dir)?;
    let started = start(config).await?;
    if let Some(summary) = &started.demo_generated {
        tracing::info!(?summary, "new database filled with demo data");
    }
    if config.telegram_bot_token.is_none() {
        tracing::info!("TELEGRAM_BOT_TOKEN is not set: running without the Telegram bot");
    }
    match app::privacy::ssr::remove_unreferenced_files(&started.state.db, &started.state.data_dir)
        .await
    {
        Ok(0) => {}
        Ok(n) => tracing::info!(n, "personal files no record refers to deleted"),
        Err(error) => tracing::warn!(%error, "left-over personal files not checked"),
    }
    // After an upgrade or a bulk load every client's kept features are due:
    // recompute them now, not in the first retrain someone waits for.
    let db = started.state.db.clone();
    tokio::spawn(async move {
        let began = std::time::Instant::now();
        match app::scoring::ssr::features::refresh(&db, app::infra::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                clients = n,
                ms = began.elapsed().as_millis() as u64,
                "model features brought up to date"
            ),
            Err(error) => tracing::warn!(%error, "model features not brought up to date"),
        }
    });
    let cleanup = spawn_session_cleanup(&started.state);
    let retraining = jobs::spawn_retraining(started.state.clone());
    let closing = jobs::spawn_closing(started.state.clone());
    let backups = (config.backup_keep_days > 0).then(|| {
        jobs::spawn_backups(
            started.state.clone(),
            config.backup_dir(),
            config.backup_keep_days,
        )
    });
    let (stop_bot, bot_stopped) = tokio::sync::watch::channel(false);
    let bot = match &config.telegram_bot_token {
        Some(token) => {
            let api_url = match config.telegram_api_url.as_deref().map(url::Url::parse) {
                Some(Ok(url)) => Some(url),
                Some(Err(error)) => {
                    return Err(ServerError::Config(format!(
                        "TELEGRAM_API_URL is not a URL: {error}"
                    )));
                }
                None => None,
            };
            let config = bot::BotConfig {
                token: token.clone(),
                api_url,
            };
            Some(bot::spawn(started.state.clone(), config, bot_stopped))
        }
        None => None,
    };
    let (stop_cameras, cameras_stopped) = tokio::sync::watch::channel(false);
    let cameras = config.vision_config.as_ref().map(|path| {
        crate::cameras::Supervisor {
            config: path.clone(),
            program: crate::cameras::program(config.vision_bin.as_deref()),
            state: started.state.vision.clone(),
        }
        .spawn(cameras_stopped)
    });
    let router = router(started.state).await?;
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(|e| ServerError::Bind(config.bind, e))?;
    let https = match config.tls_bind {
        Some(address) => Some(serve_https(config, address, router.clone()).await?),
        None => None,
    };
    let plain = match config.tls_bind {
        Some(address) => router.layer(axum::middleware::from_fn(move |request, next| {
            to_https(address.port(), request, next)
        })),
        None => router,
    };
    print_banner(config, &started.admin);
    axum::serve(
        listener,
        plain.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .map_err(ServerError::Serve)?;
    if let Some((handle, serving)) = https {
        handle.graceful_shutdown(Some(std::time::Duration::from_secs(5)));
        let _ = serving.await;
    }
    cleanup.abort();
    retraining.abort();
    closing.abort();
    if let Some(backups) = backups {
        backups.abort();
    }
    let _ = stop_cameras.send(true);
    let _ = stop_bot.send(true);
    if let Some(bot) = bot {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), bot).await;
    }
    if let Some(cameras) = cameras {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), cameras).await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// Starts the HTTPS listener; errors in the certificate or the address stop
/// the start, not the first request.
async fn serve_https(
    config: &Config,
    address: std::net::SocketAddr,
    router: Router,
) -> Result<
    (
        axum_server::Handle<std::net::SocketAddr>,
        tokio::task::JoinHandle<()>,
    ),
    ServerError,
> {
    // One crypto provider for the whole process (the Telegram client's rustls too).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let material = crate::tls::prepare(config)?;
    let tls = axum_server::tls_rustls::RustlsConfig::from_pem(material.chain_pem, material.key_pem)
        .await
        .map_err(|e| ServerError::Config(format!("HTTPS certificate or key: {e}")))?;
    let listener =
        std::net::TcpListener::bind(address).map_err(|e| ServerError::Bind(address, e))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| ServerError::Bind(address, e))?;
    let handle = axum_server::Handle::new();
    let server = axum_server::from_tcp_rustls(listener, tls)
        .map_err(|e| ServerError::Bind(address, e))?
        .handle(handle.clone());
    let router = router.layer(axum::middleware::from_fn(host_from_authority));
    let serving = tokio::spawn(async move {
        let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
        if let Err(error) = server.serve(service).await {
            tracing::error!(%error, "the HTTPS listener stopped");
        }
    });
    tracing::info!(%address, local_ca = material.ca_pem.is_some(), "serving HTTPS");
    Ok((handle, serving))
}

/// Browsers speak HTTP/2 over TLS, where the host travels as the
/// `:authority` of the request, not a `Host` header. Everything that reads
/// the host (the same-site check, pairing links) reads `Host`: give it one.
async fn host_from_authority(
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if !request.headers().contains_key(axum::http::header::HOST) {
        let authority = request
            .uri()
            .authority()
            .and_then(|a| axum::http::HeaderValue::from_str(a.as_str()).ok());
        if let Some(authority) = authority {
            request
                .headers_mut()
                .insert(axum::http::header::HOST, authority);
        }
    }
    next.run(request).await
}

/// With HTTPS on, plain HTTP only sends browsers there: the same host, the
/// HTTPS port, the same path. `/healthz` (monitoring) and `/ca.crt` (a
/// tablet fetching the authority before it trusts anything) stay plain, and
/// so does the camera program on this machine (`/api/vision/*` from a
/// loopback address: its traffic never leaves the machine, and it need not
/// trust the local authority).
async fn to_https(
    port: u16,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let path = request.uri().path();
    let from_this_machine = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .is_some_and(|peer| peer.0.ip().is_loopback());
    if path == "/healthz"
        || path == "/ca.crt"
        || (from_this_machine && path.starts_with("/api/vision/"))
    {
        return next.run(request).await;
    }
    let host = request
        .headers()
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| match h.rsplit_once(':') {
            // Not an IPv6 address's last group: a port to drop.
            Some((host, rest)) if !rest.contains(']') && !host.ends_with(':') => host,
            _ => h,
        })
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-[]:".contains(c))
        })
        .unwrap_or("localhost");
    let target = request.uri().path_and_query().map_or("/", |p| p.as_str());
    axum::response::Redirect::permanent(&format!("https://{host}:{port}{target}")).into_response()
}

/// Where the app is and how to sign in, for whoever started it.
fn print_banner(config: &Config, admin: &AdminBootstrap) {
    println!();
    println!("  Avtosalon Analitika is running at http://{}", config.bind);
    if let Some(https) = config.tls_bind {
        println!("  HTTPS (tablets and cameras): https://{https}");
        if config.tls_cert.is_none() {
            println!(
                "  Each tablet installs the local certificate authority once: http://{}/ca.crt",
                config.bind
            );
        }
    }
    match admin {
        AdminBootstrap::Created {
            password,
            generated: true,
        } => {
            println!("  Sign in as: admin / {password}");
            println!(
                "  (generated once; change it in Settings, or set ADMIN_PASSWORD before the first start)"
            );
        }
        AdminBootstrap::Created {
            generated: false, ..
        } => {
            println!("  Sign in as: admin, with the password from ADMIN_PASSWORD");
        }
        AdminBootstrap::Exists => {
            println!("  Sign in as: admin (password as set before)");
        }
    }
    println!();
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
