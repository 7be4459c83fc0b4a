//! Runs the composite GitHub Action (`action.yml`) the way a runner does:
//! each `run:` step through bash with the step's env, working directory and
//! GITHUB_OUTPUT / GITHUB_PATH files, expressions substituted from inputs and
//! earlier steps' outputs, and `if:` conditions evaluated. `uses:` steps (the
//! SARIF upload) are recorded with their resolved inputs instead of run.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::OPEN;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use yaml_rust2::{Yaml, YamlLoader};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn action() -> Yaml {
    let text = std::fs::read_to_string(Path::new(ROOT).join("action.yml")).unwrap();
    YamlLoader::load_from_str(&text).unwrap().remove(0)
}

fn text(y: &Yaml) -> String {
    match y {
        Yaml::String(s) => s.clone(),
        Yaml::Boolean(b) => b.to_string(),
        Yaml::Integer(i) => i.to_string(),
        _ => String::new(),
    }
}

/// What one simulated job run saw.
struct Run {
    /// Exit status of each executed run step, by name.
    statuses: Vec<(String, i32)>,
    /// Combined stdout of the run steps.
    log: String,
    /// `uses:` steps whose `if:` held: (action, resolved `with`).
    used: Vec<(String, BTreeMap<String, String>)>,
    outputs: BTreeMap<String, BTreeMap<String, String>>,
}

struct Runner {
    inputs: BTreeMap<String, String>,
    outputs: BTreeMap<String, BTreeMap<String, String>>,
    path: Vec<PathBuf>,
    workspace: PathBuf,
    temp: PathBuf,
    env: Vec<(String, String)>,
}

impl Runner {
    fn new(workspace: &Path, temp: &Path, given: &[(&str, &str)]) -> Runner {
        let a = action();
        let mut inputs = BTreeMap::new();
        for (k, v) in a["inputs"].as_hash().unwrap() {
            inputs.insert(text(k), text(&v["default"]));
        }
        for (k, v) in given {
            assert!(inputs.contains_key(*k), "no input `{k}` in action.yml");
            inputs.insert(k.to_string(), v.to_string());
        }
        Runner {
            inputs,
            outputs: BTreeMap::new(),
            path: Vec::new(),
            workspace: workspace.to_path_buf(),
            temp: temp.to_path_buf(),
            env: Vec::new(),
        }
    }

    fn value(&self, expr: &str) -> String {
        let expr = expr.trim();
        if let Some(name) = expr.strip_prefix("inputs.") {
            return self.inputs.get(name).cloned().unwrap_or_default();
        }
        if expr == "github.action_path" {
            return ROOT.to_string();
        }
        if let Some(rest) = expr.strip_prefix("steps.") {
            let (id, key) = rest.split_once(".outputs.").unwrap();
            return self
                .outputs
                .get(id)
                .and_then(|o| o.get(key))
                .cloned()
                .unwrap_or_default();
        }
        if let Some(lit) = expr.strip_prefix('\'').and_then(|e| e.strip_suffix('\'')) {
            return lit.to_string();
        }
        panic!("expression the simulator does not know: {expr}");
    }

    fn subst(&self, s: &str) -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(start) = rest.find("${{") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find("}}").unwrap() + start;
            out.push_str(&self.value(&rest[start + 3..end]));
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
        out
    }

    /// `a == 'x' && b != ''`: the only condition shape the action uses.
    fn condition(&self, cond: &str) -> bool {
        let cond = cond.trim();
        let cond = cond
            .strip_prefix("${{")
            .and_then(|c| c.strip_suffix("}}"))
            .unwrap_or(cond);
        cond.split("&&").all(|term| {
            if let Some((l, r)) = term.split_once("!=") {
                self.value(l) != self.value(r)
            } else if let Some((l, r)) = term.split_once("==") {
                self.value(l) == self.value(r)
            } else {
                panic!("condition the simulator does not know: {term}")
            }
        })
    }

    fn run(mut self) -> Run {
        let a = action();
        assert_eq!(text(&a["runs"]["using"]), "composite");
        let mut run = Run {
            statuses: Vec::new(),
            log: String::new(),
            used: Vec::new(),
            outputs: BTreeMap::new(),
        };
        for step in a["runs"]["steps"].as_vec().unwrap() {
            let name = text(&step["name"]);
            if let Yaml::String(cond) = &step["if"] {
                if !self.condition(cond) {
                    continue;
                }
            }
            if let Yaml::String(uses) = &step["uses"] {
                let mut with = BTreeMap::new();
                if let Some(h) = step["with"].as_hash() {
                    for (k, v) in h {
                        with.insert(text(k), self.subst(&text(v)));
                    }
                }
                run.used.push((uses.clone(), with));
                continue;
            }
            let script = text(&step["run"]);
            assert_eq!(
                text(&step["shell"]),
                "bash",
                "{name}: composite run steps need a shell"
            );
            let output_file = self.temp.join(format!("output-{}", run.statuses.len()));
            let path_file = self.temp.join(format!("path-{}", run.statuses.len()));
            std::fs::write(&output_file, "").unwrap();
            std::fs::write(&path_file, "").unwrap();
            let script_file = self.temp.join("step.sh");
            std::fs::write(&script_file, &script).unwrap();
            let dir = match &step["working-directory"] {
                Yaml::String(d) => self.workspace.join(self.subst(d)),
                _ => self.workspace.clone(),
            };
            let mut path = self.path.clone();
            path.extend(std::env::split_paths(
                &std::env::var_os("PATH").unwrap_or_default(),
            ));
            // As GitHub runs bash steps.
            let mut cmd = Command::new("bash");
            cmd.args(["--noprofile", "--norc", "-eo", "pipefail"])
                .arg(&script_file)
                .current_dir(dir)
                .env("PATH", std::env::join_paths(path).unwrap())
                .env("GITHUB_OUTPUT", &output_file)
                .env("GITHUB_PATH", &path_file)
                .env("RUNNER_TEMP", &self.temp)
                .env("NO_COLOR", "1");
            for (k, v) in &self.env {
                cmd.env(k, v);
            }
            if let Some(h) = step["env"].as_hash() {
                for (k, v) in h {
                    cmd.env(text(k), self.subst(&text(v)));
                }
            }
            let out = cmd.output().unwrap();
            run.log.push_str(&String::from_utf8_lossy(&out.stdout));
            let status = out.status.code().unwrap_or(-1);
            if status != 0 && !out.stderr.is_empty() {
                run.log.push_str(&String::from_utf8_lossy(&out.stderr));
            }
            run.statuses.push((name.clone(), status));
            let mut outs = BTreeMap::new();
            for line in std::fs::read_to_string(&output_file).unwrap().lines() {
                let (k, v) = line.split_once('=').unwrap();
                outs.insert(k.to_string(), v.to_string());
            }
            if let Yaml::String(id) = &step["id"] {
                self.outputs.insert(id.clone(), outs);
            }
            for line in std::fs::read_to_string(&path_file).unwrap().lines() {
                self.path.insert(0, PathBuf::from(line));
            }
            if status != 0 {
                break;
            }
        }
        run.outputs = self.outputs;
        run
    }
}

/// A directory holding this build's binary, as if already installed.
fn installed() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_convex-audit"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Runs the action on `dir` with this build's binary already on PATH.
fn run_installed(dir: &Path, inputs: &[(&str, &str)]) -> Run {
    let mut r = Runner::new(dir, dir, inputs);
    r.path.push(installed());
    r.run()
}

fn project(open: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("app/convex")).unwrap();
    let body = if open {
        OPEN.to_string()
    } else {
        OPEN.replace("mutation(", "internalMutation(")
            .replace("{ mutation }", "{ internalMutation }")
    };
    std::fs::write(dir.path().join("app/convex/notes.ts"), body).unwrap();
    dir
}

#[test]
fn action_declares_every_input_it_uses() {
    let a = action();
    let raw = std::fs::read_to_string(Path::new(ROOT).join("action.yml")).unwrap();
    let declared: Vec<String> = a["inputs"].as_hash().unwrap().keys().map(text).collect();
    for (i, _) in raw.match_indices("inputs.") {
        let name: String = raw[i + 7..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        assert!(
            declared.contains(&name),
            "action.yml uses undeclared input `{name}`"
        );
    }
    for step in a["runs"]["steps"].as_vec().unwrap() {
        if let Yaml::String(script) = &step["run"] {
            // Inputs go through env, never into the script text.
            assert!(
                !script.contains("${{"),
                "expression spliced into a script: {script}"
            );
        }
        if let Yaml::String(uses) = &step["uses"] {
            assert!(uses.contains('@'), "unpinned action {uses}");
        }
    }
}

#[test]
fn the_readme_workflow_uses_declared_inputs() {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap();
    let start = readme.find("# .github/workflows/convex-audit.yml").unwrap();
    let end = start + readme[start..].find("```").unwrap();
    let workflow = YamlLoader::load_from_str(&readme[start..end])
        .unwrap()
        .remove(0);
    let a = action();
    let inputs = a["inputs"].as_hash().unwrap();
    let steps = workflow["jobs"]["audit"]["steps"].as_vec().unwrap();
    let ours = steps
        .iter()
        .find(|s| text(&s["uses"]).contains("/convex-audit@"))
        .unwrap();
    for (k, _) in ours["with"].as_hash().unwrap() {
        assert!(inputs.contains_key(k), "README passes unknown input {k:?}");
    }
    let perms = &workflow["jobs"]["audit"]["permissions"];
    assert_eq!(text(&perms["security-events"]), "write");
}

#[test]
fn findings_fail_the_job_with_annotations() {
    let dir = project(true);
    let run = run_installed(dir.path(), &[("working-directory", "app")]);
    assert!(run.log.contains("using "), "{}", run.log);
    assert!(
        run.log
            .contains("::error file=convex/notes.ts,line=2,col=14"),
        "{}",
        run.log
    );
    assert_eq!(run.outputs["run"]["exit-code"], "1");
    assert_eq!(
        run.statuses.last().unwrap(),
        &("Fail on findings".to_string(), 1)
    );
    assert!(run.used.is_empty(), "no SARIF upload unless asked");
}

#[test]
fn a_clean_project_passes_and_fail_on_never_passes_anything() {
    let dir = project(false);
    let run = run_installed(dir.path(), &[("working-directory", "app")]);
    assert_eq!(run.statuses.last().unwrap().1, 0, "{}", run.log);

    let dir = project(true);
    let run = run_installed(
        dir.path(),
        &[("working-directory", "app"), ("fail-on", "never")],
    );
    assert_eq!(run.statuses.last().unwrap().1, 0, "{}", run.log);
    assert!(run.log.contains("::error file=convex/notes.ts"));
}

#[test]
fn sarif_is_written_and_handed_to_the_upload() {
    let dir = project(true);
    let run = run_installed(
        dir.path(),
        &[
            ("working-directory", "app"),
            ("sarif", "true"),
            ("paths", "convex"),
        ],
    );
    assert_eq!(run.used.len(), 1, "{}", run.log);
    let (uses, with) = &run.used[0];
    assert!(uses.starts_with("github/codeql-action/upload-sarif@"));
    assert_eq!(with["category"], "convex-audit");
    let file = dir.path().join(&with["sarif_file"]);
    let log: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(log["version"], "2.1.0");
    assert_eq!(log["runs"][0]["results"][0]["ruleId"], "missing-auth");
    // The job log lists the findings readably too, and the gate still fails.
    assert!(
        run.log.contains("convex/notes.ts:2:14: error missing-auth"),
        "{}",
        run.log
    );
    assert_eq!(run.statuses.last().unwrap().1, 1);
}

#[test]
fn a_usage_error_uploads_nothing_and_fails() {
    let dir = project(true);
    let run = run_installed(
        dir.path(),
        &[
            ("working-directory", "app"),
            ("sarif", "true"),
            ("paths", "nope"),
        ],
    );
    assert!(run.used.is_empty());
    assert_eq!(run.outputs["run"]["exit-code"], "2");
    assert_eq!(run.statuses.last().unwrap().1, 2);
}

/// The install step for real: `cargo install` of this checkout. The release
/// profile is relaxed through cargo's environment overrides (not the action)
/// so the build takes about as long as a debug one.
#[test]
fn install_step_builds_the_action_checkout() {
    let dir = project(true);
    let temp = tempfile::tempdir().unwrap();
    let mut r = Runner::new(dir.path(), temp.path(), &[("working-directory", "app")]);
    let target = Path::new(ROOT).join("target/action-install");
    r.env = [
        ("CARGO_TARGET_DIR", target.to_str().unwrap()),
        ("CARGO_NET_OFFLINE", "true"),
        ("CARGO_PROFILE_RELEASE_LTO", "false"),
        ("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0"),
        ("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "256"),
        ("CARGO_PROFILE_RELEASE_DEBUG", "false"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let run = r.run();
    assert_eq!(
        run.statuses[0],
        ("Install convex-audit".to_string(), 0),
        "{}",
        run.log
    );
    assert!(temp.path().join("convex-audit/bin/convex-audit").exists());
    // The installed binary, put on PATH by GITHUB_PATH, ran the check.
    assert!(
        run.log.contains("::error file=convex/notes.ts"),
        "{}",
        run.log
    );
    assert_eq!(run.statuses.last().unwrap().1, 1);
}
