// Leptos view types nest deeply; the client card needs more than the default.
#![recursion_limit = "256"]
use app::settings::ssr::staff::AdminBootstrap;
use clap::Parser;
use server::{Cli, Command, ServerError, demo};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tower_sessions=warn,tower_http=warn".into()),
        )
        .init();
    let result = match cli.command {
        None | Some(Command::Serve) => serve(&cli.config).await,
        Some(Command::DemoData { clients, seed }) => demo_data(&cli.config, clients, seed).await,
        Some(Command::Train) => train(&cli.config).await,
        Some(Command::ExportFeatures { out }) => export_features(&cli.config, &out).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: &server::Config) -> Result<(), ServerError> {
    tracing::info!(?config, "starting");
    let started = server::start(config).await?;
    if let Some(summary) = &started.demo_generated {
        tracing::info!(?summary, "new database filled with demo data");
    }
    if config.telegram_bot_token.is_none() {
        tracing::info!("TELEGRAM_BOT_TOKEN is not set: running without the Telegram bot");
    }
    let cleanup = server::spawn_session_cleanup(&started.state);
    let retraining = server::jobs::spawn_retraining(started.state.clone());
    let closing = server::jobs::spawn_closing(started.state.clone());
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
            let config = server::bot::BotConfig {
                token: token.clone(),
                api_url,
            };
            Some(server::bot::spawn(
                started.state.clone(),
                config,
                bot_stopped,
            ))
        }
        None => None,
    };
    let router = server::router(started.state).await?;
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(|e| ServerError::Bind(config.bind, e))?;
    println!();
    println!("  Avtosalon Analitika is running at http://{}", config.bind);
    match &started.admin {
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
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(ServerError::Serve)?;
    cleanup.abort();
    retraining.abort();
    closing.abort();
    let _ = stop_bot.send(true);
    if let Some(bot) = bot {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), bot).await;
    }
    tracing::info!("stopped");
    Ok(())
}

async fn demo_data(config: &server::Config, clients: u32, seed: u64) -> Result<(), ServerError> {
    server::prepare_data_dir(&config.data_dir)?;
    let db = app::infra::Db::open(&config.database_url()).await?;
    if !demo::database_is_empty(&db).await? {
        return Err(ServerError::Demo(
            "the database already has clients or visits; point DATABASE_URL at a new file".into(),
        ));
    }
    let started = std::time::Instant::now();
    let summary = demo::generate(&db, clients, seed, true).await?;
    println!(
        "generated {} clients, {} visits, {} service requests, {} sales in {:.1} s",
        summary.clients,
        summary.visits,
        summary.service_requests,
        summary.sales,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn open_existing(config: &server::Config) -> Result<app::infra::Db, ServerError> {
    server::prepare_data_dir(&config.data_dir)?;
    Ok(app::infra::Db::open(&config.database_url()).await?)
}

async fn train(config: &server::Config) -> Result<(), ServerError> {
    let db = open_existing(config).await?;
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.set_message("computing features, cross-validating, training, rescoring …");
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let result = app::scoring::ssr::train_and_activate(&db, None).await;
    spinner.finish_and_clear();
    let model = result.map_err(|e| ServerError::Demo(e.to_string()))?;
    let m = &model.metrics;
    println!(
        "model #{}: ROC AUC {:.3} (visit count alone {:.3}), PR AUC {:.3} (baseline {:.3}), Brier {:.4}, L2 alpha {}",
        model.id, m.roc_auc, m.baseline_roc_auc, m.pr_auc, m.baseline_pr_auc, m.brier, m.alpha
    );
    println!(
        "trained on {} clients ({} buyers), tested on {} later clients ({} buyers), fit in {:.2} s",
        m.train_count, m.train_buyers, m.test_count, m.test_buyers, m.seconds
    );
    Ok(())
}

async fn export_features(
    config: &server::Config,
    out: &std::path::Path,
) -> Result<(), ServerError> {
    let db = open_existing(config).await?;
    let file =
        std::fs::File::create(out).map_err(|e| ServerError::DataDir(out.to_path_buf(), e))?;
    let mut writer = std::io::BufWriter::new(file);
    let rows = app::scoring::ssr::export_features(&db, &mut writer)
        .await
        .map_err(|e| ServerError::Demo(e.to_string()))?;
    println!("wrote {rows} rows to {}", out.display());
    Ok(())
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
