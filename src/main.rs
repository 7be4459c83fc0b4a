//! The CLI: parses arguments, runs the library, writes the report and its
//! errors, and maps the result to an exit code. The only code that prints.
#![allow(clippy::print_stdout, clippy::print_stderr)]

// mimalloc: the parse floor is 20-27 % faster with it (../shared/bench/BASELINE.md),
// and the model's many small allocations gain more.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;

use convex_audit::cli::{Cli, Command, FailOn, Format};
use convex_audit::output::{compact, github, json, pretty, sarif};
use convex_audit::rule::{registry, Severity};
use convex_audit::{baseline, check, Options};

fn main() -> ExitCode {
    // A panic in one file is caught and reported for that file; keep stderr clean.
    std::panic::set_hook(Box::new(|_| {}));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match cli.command {
        Command::Rules => {
            let rules = registry();
            let width = rules.iter().map(|r| r.meta().id.len()).max().unwrap_or(0);
            let mut out = String::new();
            for rule in rules {
                let m = rule.meta();
                let (id, severity) = (m.id, m.severity.as_str());
                out.push_str(&format!("{id:<width$}  {severity:<8} {}\n", m.summary));
            }
            emit(&out)
        }
        Command::Check(args) => {
            let opts = Options {
                paths: args.paths,
                config: args.config.clone(),
                threads: args.threads.unwrap_or(0),
                fast_exit: true,
                release_memory: Some(convex_audit::mimalloc_collect),
                keep_sources: args.format == Format::Pretty,
            };
            let mut report = match check(&opts) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: {}", e.0);
                    return ExitCode::from(2);
                }
            };
            if let Some(path) = &args.write_baseline {
                if let Err(e) = baseline::write(path, &report) {
                    eprintln!("error: {}: {e}", path.display());
                    return ExitCode::from(2);
                }
                eprintln!(
                    "wrote {} finding(s) to {}",
                    report.findings.len(),
                    path.display()
                );
                return if report.errors.is_empty() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(2)
                };
            }
            if let Some(path) = &args.baseline {
                match baseline::apply(path, &mut report) {
                    Ok(fixed) => report.baseline_fixed = Some(fixed),
                    Err(e) => {
                        eprintln!("error: {e}");
                        return ExitCode::from(2);
                    }
                }
            }
            let code = match args.format {
                // Streamed: the largest output, and nothing else reads it.
                Format::Json => {
                    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
                    emitted(json::write(&report, &mut out).and_then(|()| out.flush()))
                }
                Format::Compact => emit(&compact::render(&report)),
                Format::Github => emit(&github::render(&report)),
                Format::Sarif => emit(&sarif::render(&report)),
                Format::Pretty => {
                    let color = !args.no_color
                        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                        && std::io::stdout().is_terminal();
                    emit(&pretty::render(
                        &report,
                        &pretty::Style {
                            color,
                            quiet: args.quiet,
                            timing: true,
                        },
                    ))
                }
            };
            if code != ExitCode::SUCCESS {
                return code;
            }
            if !report.errors.is_empty() {
                return ExitCode::from(2);
            }
            let threshold = match args.fail_on {
                FailOn::Error => Some(Severity::Error),
                FailOn::Warning => Some(Severity::Warning),
                FailOn::Info => Some(Severity::Info),
                FailOn::Never => None,
            };
            // Severity orders error < warning < info: "at least as severe".
            let failing =
                threshold.is_some_and(|t| report.findings.iter().any(|f| f.severity <= t));
            let warnings = report
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Warning)
                .count();
            let too_many = args.max_warnings.is_some_and(|max| warnings > max);
            if failing || too_many {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Command::Explain { rule } => explain(&rule),
        Command::Init => init(),
    }
}

/// Writes the starter configuration, refusing to overwrite one.
fn init() -> ExitCode {
    let path = std::path::Path::new(convex_audit::config::FILE_NAME);
    if path.exists() {
        eprintln!("error: {} already exists", path.display());
        return ExitCode::from(2);
    }
    match std::fs::write(path, convex_audit::config::STARTER) {
        Ok(()) => {
            eprintln!("wrote {}", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            ExitCode::from(2)
        }
    }
}

/// Prints a rule's doc as plain text.
fn explain(id: &str) -> ExitCode {
    let rules = registry();
    let Some(rule) = rules.iter().find(|r| r.meta().id == id) else {
        let ids: Vec<&str> = rules.iter().map(|r| r.meta().id).collect();
        let hint = convex_audit::rule::closest(id, &ids)
            .map(|c| format!(" (did you mean `{c}`?)"))
            .unwrap_or_default();
        eprintln!("error: no rule `{id}`{hint}; `convex-audit rules` lists them");
        return ExitCode::from(2);
    };
    emit(&rule.meta().plain_doc())
}

/// Writes to stdout; a closed pipe is not an error worth a panic.
fn emit(text: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    emitted(out.write_all(text.as_bytes()).and_then(|_| out.flush()))
}

/// A closed pipe (`| head`) is not a failure.
fn emitted(written: std::io::Result<()>) -> ExitCode {
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(2),
    }
}
