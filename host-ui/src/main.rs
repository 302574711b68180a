//! `ucdesk`: the desktop client. Without a subcommand it opens the window; the
//! subcommands drive the kernel headlessly or talk to the running instance over its
//! control socket (see `docs/cli.md`).

mod cli;
mod commands;
mod gui;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_logging();
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ucdesk: {e}");
            ExitCode::from(1)
        }
    }
}

/// Logs go to stderr; `UCDESK_LOG` takes an env-filter (default `info`). Plugins' log
/// lines arrive here through the host service with target `plugin`. Beside it, the
/// diagnostic log file, which the profile's preferences turn on
/// ([`ucdesk_shell::diagnostics`]).
fn init_logging() {
    use tracing_subscriber::{Layer, layer::SubscriberExt, util::SubscriberInitExt};
    let filter = tracing_subscriber::EnvFilter::try_from_env("UCDESK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let terminal = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .with_filter(filter);
    tracing_subscriber::registry().with(terminal).with(ucdesk_shell::diagnostics::layer()).init();
}
