//! Configuration: command-line flags, each with an environment variable that
//! deployments and scripts rely on.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "server",
    version,
    about = "Avtosalon Analitika: web app, REST API, bot and jobs"
)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the web app and the API (the default).
    Serve,
    /// Fill an empty database with a believable dealership network.
    DemoData {
        /// How many clients to generate (visits are about ten per client).
        #[arg(long, default_value_t = 2_000)]
        clients: u32,
        /// The same seed gives the same data.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Train the purchase model now, activate it and rescore every client.
    Train,
    /// Write the exact feature matrix and labels used for training as CSV.
    ExportFeatures {
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Take a consistent backup of the database and personal files now (safe
    /// while the server runs); prints the folder.
    Backup,
    /// Put a backup back: the database and files as they were, then erase
    /// again whoever was erased since. Stop the server first.
    Restore {
        /// The backup folder (`…/backups/avtosalon-YYYYMMDD-HHMMSS`).
        backup: PathBuf,
    },
    /// Copy every row of a SQLite database into a new, empty PostgreSQL database (a
    /// showroom growing into a chain), or back; row counts are compared per table.
    CopyDatabase {
        /// The database to copy (`sqlite://FILE` or `postgres://…`); it is not changed.
        #[arg(long)]
        from: String,
        /// The new database (`postgres://…` or `sqlite://FILE`); it must hold no data yet.
        #[arg(long)]
        to: String,
    },
}

#[derive(Args, Clone)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "BIND", default_value = "127.0.0.1:3000")]
    pub bind: SocketAddr,
    /// Where photos, documents, snapshots (and the default database) live.
    #[arg(long, env = "DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// sqlite://FILE (defaults to DATA_DIR/avtosalon.db), or postgres://USER:PASSWORD@HOST/DATABASE
    /// (PostgreSQL 13+; TLS is required for a server that is not this machine unless the
    /// URL says `sslmode=…`).
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Connections to PostgreSQL at most (default 16).
    #[arg(long, env = "DATABASE_POOL_SIZE", value_parser = clap::value_parser!(u32).range(2..=1000))]
    pub database_pool_size: Option<u32>,
    /// Password of the first `admin` account; generated and printed when unset.
    #[arg(long, env = "ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// Telegram bot token; without it the server runs without the bot.
    #[arg(long, env = "TELEGRAM_BOT_TOKEN", hide_env_values = true)]
    pub telegram_bot_token: Option<String>,
    /// Telegram Bot API base URL (for tests and proxies).
    #[arg(long, env = "TELEGRAM_API_URL")]
    pub telegram_api_url: Option<String>,
    /// Where staff and devices reach the server (`https://salon.example`):
    /// used for pairing links; `https://` marks cookies Secure and sends HSTS.
    #[arg(long, env = "PUBLIC_URL")]
    pub public_url: Option<app::infra::site::PublicUrl>,
    /// Do not fill a new database with demo data (for real installations).
    #[arg(long, env = "NO_DEMO_DATA", value_parser = clap::builder::BoolishValueParser::new(), default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub no_demo_data: bool,
    /// Clients generated on a new database's first start.
    #[arg(long, env = "DEMO_CLIENTS", default_value_t = 2_000)]
    pub demo_clients: u32,
    /// Where backups go; defaults to DATA_DIR/backups.
    #[arg(long, env = "BACKUP_DIR")]
    pub backup_dir: Option<PathBuf>,
    /// Days backups are kept (they hold personal data); 0 turns the nightly backup off.
    #[arg(long, env = "BACKUP_KEEP_DAYS", default_value_t = 7, value_parser = clap::value_parser!(u16).range(0..=365))]
    pub backup_keep_days: u16,
    /// Serve HTTPS here too (`0.0.0.0:3443`); BIND then only sends browsers
    /// to it (and still answers /healthz and /ca.crt).
    #[arg(long, env = "TLS_BIND")]
    pub tls_bind: Option<SocketAddr>,
    /// The dealership's own certificate chain (PEM); without it a local
    /// certificate authority is made in DATA_DIR/tls.
    #[arg(long, env = "TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// The key of TLS_CERT (PEM).
    #[arg(long, env = "TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// More names or addresses the local certificate must cover, comma-separated.
    #[arg(long, env = "TLS_NAMES", value_delimiter = ',')]
    pub tls_names: Vec<String>,

    /// The camera program's configuration (`vision run --config`): when set, the
    /// server runs the program, restarts it if it stops and stops it on exit; a
    /// file that does not exist yet is waited for.
    #[arg(long, env = "VISION_CONFIG")]
    pub vision_config: Option<PathBuf>,

    /// The `vision` program to run (default: the one beside this `server`, else from PATH).
    #[arg(long, env = "VISION_BIN")]
    pub vision_bin: Option<PathBuf>,
}

impl Config {
    pub fn backup_dir(&self) -> PathBuf {
        self.backup_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("backups"))
    }

    /// The SQLite file the database URL names.
    pub fn database_file(&self) -> Option<PathBuf> {
        let url = self.database_url();
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))?;
        let path = path.split('?').next().unwrap_or(path);
        (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
    }

    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("avtosalon.db").display()))
    }
}

/// Secrets are never printed, not even in debug logs.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secret = |s: &Option<String>| if s.is_some() { "<set>" } else { "<unset>" };
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("data_dir", &self.data_dir)
            .field("database_url", &self.database_url.as_ref().map(|_| "<set>"))
            .field("database_pool_size", &self.database_pool_size)
            .field("admin_password", &secret(&self.admin_password))
            .field("telegram_bot_token", &secret(&self.telegram_bot_token))
            .field("telegram_api_url", &self.telegram_api_url)
            .field("public_url", &self.public_url)
            .field("no_demo_data", &self.no_demo_data)
            .field("demo_clients", &self.demo_clients)
            .field("backup_dir", &self.backup_dir)
            .field("backup_keep_days", &self.backup_keep_days)
            .field("tls_bind", &self.tls_bind)
            .field("tls_cert", &self.tls_cert)
            .field("tls_key", &self.tls_key)
            .field("tls_names", &self.tls_names)
            .field("vision_config", &self.vision_config)
            .field("vision_bin", &self.vision_bin)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_secrets() {
        let cli = Cli::parse_from([
            "server",
            "--admin-password",
            "hunter22",
            "--telegram-bot-token",
            "123:abc",
        ]);
        let printed = format!("{:?}", cli.config);
        assert!(!printed.contains("hunter22"));
        assert!(!printed.contains("123:abc"));
        assert!(printed.contains("<set>"));
    }

    #[test]
    fn parses_subcommands_and_defaults() {
        let cli = Cli::parse_from([
            "server",
            "--data-dir",
            "/tmp/x",
            "demo-data",
            "--clients",
            "10",
            "--seed",
            "7",
        ]);
        assert!(matches!(
            cli.command,
            Some(Command::DemoData {
                clients: 10,
                seed: 7
            })
        ));
        assert_eq!(cli.config.database_url(), "sqlite:///tmp/x/avtosalon.db");
        assert!(Cli::try_parse_from(["server", "--bind", "not-an-address"]).is_err());
        let cli = Cli::parse_from(["server", "--no-demo-data"]);
        assert!(cli.config.no_demo_data);
    }
}
