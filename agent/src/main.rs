//! club-agent: the daemon on every gaming PC. Its command line is settled
//! (API.md); the daemon itself lands with the agent issue.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "club-agent", version, about = "Clubhall PC agent")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Exchange a one-time enrollment code for this PC's device secret.
    Enroll {
        #[arg(long)]
        server: String,
        #[arg(long)]
        code: String,
        #[arg(long)]
        state_dir: Option<PathBuf>,
    },
    /// Run the agent daemon.
    Run {
        #[arg(long)]
        state_dir: Option<PathBuf>,
        #[arg(long)]
        ui_listen: Option<String>,
        #[arg(long)]
        lock_cmd: Option<String>,
        #[arg(long)]
        unlock_cmd: Option<String>,
    },
    /// Press Start, as the player would on the lock screen.
    Start {
        #[arg(long)]
        state_dir: Option<PathBuf>,
    },
    /// Print the agent's local state as JSON.
    Status {
        #[arg(long)]
        state_dir: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let name = match cli.command {
        Command::Enroll { .. } => "enroll",
        Command::Run { .. } => "run",
        Command::Start { .. } => "start",
        Command::Status { .. } => "status",
    };
    eprintln!("club-agent {name}: this build has the command line only; the agent daemon is not in it yet");
    ExitCode::from(2)
}
