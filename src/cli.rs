//! Command-line definitions.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "convex-audit",
    version,
    about = "Static security linter for Convex backends: finds public functions anyone can call",
    after_help = "Exit codes: 0 nothing at or above --fail-on; 1 findings at or above it (or more warnings than --max-warnings); 2 the check could not be done as asked."
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
    /// Write a commented starter convex-audit.toml in the current directory.
    Init,
    /// Print a rule's documentation.
    Explain {
        /// The rule id, as `convex-audit rules` lists it.
        rule: String,
    },
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
    /// The lowest severity that makes the exit code 1.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// Exit with 1 when there are more than N warnings (as ESLint's --max-warnings).
    #[arg(long, value_name = "N")]
    pub max_warnings: Option<usize>,
    /// Use this configuration file instead of the nearest convex-audit.toml.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Report only findings not recorded in this baseline file.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Record the current findings in this file (then exit 0 unless the check failed).
    #[arg(long, value_name = "FILE", conflicts_with = "baseline")]
    pub write_baseline: Option<PathBuf>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOn {
    Error,
    Warning,
    Info,
    Never,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// miette's report, with source snippets.
    Pretty,
    /// The machine-readable report (see the README).
    Json,
    /// One line per finding: `file:line:col: severity rule message`.
    Compact,
    /// GitHub Actions workflow commands (annotations on the pull request).
    Github,
    /// SARIF 2.1.0, for GitHub code scanning and other dashboards.
    Sarif,
}
