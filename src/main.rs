use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;

use convex_audit::cli::{Cli, Command, Format};
use convex_audit::output::{json, pretty};
use convex_audit::rule::{registry, Severity};
use convex_audit::{check, Options};

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
                threads: args.threads.unwrap_or(0),
            };
            let report = match check(&opts) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: {}", e.0);
                    return ExitCode::from(2);
                }
            };
            let text = match args.format {
                Format::Json => json::render(&report),
                Format::Pretty => {
                    let color = !args.no_color
                        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                        && std::io::stdout().is_terminal();
                    pretty::render(
                        &report,
                        &pretty::Style {
                            color,
                            quiet: args.quiet,
                            timing: true,
                        },
                    )
                }
            };
            let code = emit(&text);
            if code != ExitCode::SUCCESS {
                return code;
            }
            if !report.errors.is_empty() {
                ExitCode::from(2)
            } else if report
                .findings
                .iter()
                .any(|f| f.severity == Severity::Error)
            {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
    }
}

/// Writes to stdout; a closed pipe is not an error worth a panic.
fn emit(text: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(2),
    }
}
