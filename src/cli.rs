//! Command-line definitions.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "convex-audit",
    version,
    about = "Static security linter for Convex backends: finds public functions anyone can call",
    after_help = "Exit codes: 0 no error-severity findings; 1 at least one; 2 the check could not be done as asked."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check a Convex functions folder (default: convex.json's "functions", else ./convex).
    Check(CheckArgs),
    /// List every rule with its id, default severity and summary.
    Rules,
}

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// The convex folder, a project root containing one, or files in one
    /// (then the whole folder is analysed and only those files reported).
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Pretty)]
    pub format: Format,
    /// Print findings only, without the summary line.
    #[arg(short, long)]
    pub quiet: bool,
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long, value_name = "N")]
    pub threads: Option<usize>,
    /// Disable colour (NO_COLOR is respected too).
    #[arg(long)]
    pub no_color: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Pretty,
    Json,
}
