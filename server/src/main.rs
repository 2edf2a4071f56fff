//! `server`: serves the app (the default) or runs one command; see `--help`.

// Leptos view types nest deeply; the client card needs more than the default.
#![recursion_limit = "256"]
use clap::Parser;
use server::{Cli, Command, commands, serve};
use std::process::ExitCode;

fn main() -> ExitCode {
    return_large_blocks_to_the_system();
    // Page renders are deep futures; a debug build (the one the browser tests
    // run) needs more than tokio's 2 MiB. The stack is virtual memory: only
    // the pages touched are ever resident.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(8 * 1024 * 1024)
        .build();
    match runtime {
        Ok(runtime) => runtime.block_on(run()),
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,tower_sessions=warn,tower_http=warn".into()),
        )
        .init();
    let config = &cli.config;
    let result = match cli.command {
        None | Some(Command::Serve) => serve::run(config).await,
        Some(Command::DemoData { clients, seed }) => {
            commands::demo_data(config, clients, seed).await
        }
        Some(Command::Train) => commands::train(config).await,
        Some(Command::ExportFeatures { out }) => commands::export_features(config, &out).await,
        Some(Command::Backup) => commands::backup(config).await,
        Some(Command::Restore { backup }) => commands::restore(config, &backup).await,
        Some(Command::CopyDatabase { from, to }) => commands::copy_database(&from, &to).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Password checks allocate 19 MiB each. By default glibc raises its mmap
/// threshold to the size of the first such block freed, and from then on
/// keeps those blocks in its heaps: a burst of sign-ins left the process at
/// 734 MB for good. A fixed threshold hands them back to the system. It is
/// 4 MiB, not glibc's starting 128 KiB: below it, every buffer of a retrain
/// (gradients, histograms, a batch of scores) and of a busy API would be a
/// mapping of its own, paid again in page faults each time. A fixed mmap
/// threshold also fixes the trim threshold at 128 KiB, so the heaps gave
/// memory back and took it again many times a second; they keep up to
/// 8 MiB free at their top instead.
fn return_large_blocks_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only changes allocator settings and takes glibc's own
    // lock; it is safe from any thread at any time.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 * 1024 * 1024);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 8 * 1024 * 1024);
    }
}
