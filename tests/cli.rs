//! Drives the binary: exit codes, path handling, formats, bad input.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    // A test that skips says so.
    clippy::print_stderr
)]

mod common;

use common::OPEN;

use std::path::Path;
use std::process::{Command, Output};

const CLOSED: &str = r#"import { query } from "./_generated/server";
export const mine = query({
  args: {},
  handler: async (ctx) => {
    const identity = await ctx.auth.getUserIdentity();
    if (!identity) return [];
    return await ctx.db.query("notes").collect();
  },
});
"#;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_convex-audit"));
    c.env("NO_COLOR", "1");
    c
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Checks `dir/convex`, expecting a configuration error: exit 2, its stderr.
fn config_error(dir: &Path) -> String {
    let o = bin()
        .args(["check", "convex"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

#[test]
fn exit_codes_follow_findings() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "clean/convex/notes.ts", CLOSED);
    write(dir.path(), "open/convex/notes.ts", OPEN);
    let clean = bin()
        .arg("check")
        .arg(dir.path().join("clean/convex"))
        .output()
        .unwrap();
    assert_eq!(clean.status.code(), Some(0), "{}", stdout(&clean));
    assert!(stdout(&clean).contains("No problems found: 1 file checked"));
    let open = bin()
        .arg("check")
        .arg(dir.path().join("open/convex"))
        .output()
        .unwrap();
    assert_eq!(open.status.code(), Some(1));
    let out = stdout(&open);
    assert!(out.contains("missing-auth"), "{out}");
    assert!(out.contains("notes:wipe"), "{out}");
    assert!(
        out.contains("1 problem (1 error, 0 warnings, 0 infos)"),
        "{out}"
    );
}

#[test]
fn missing_path_is_a_usage_error() {
    let o = bin().args(["check", "does/not/exist"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("does/not/exist"));
    let o = bin().args(["check", "--format", "xml"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn no_path_uses_convex_json_then_dot_convex() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "convex/notes.ts", OPEN);
    let o = bin().arg("check").current_dir(dir.path()).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));

    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "convex.json",
        r#"{ "functions": "src/backend/" }"#,
    );
    write(dir.path(), "src/backend/notes.ts", OPEN);
    let o = bin()
        .args(["check", "--format", "json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    assert_eq!(v["findings"][0]["file"], "src/backend/notes.ts");
    assert_eq!(v["findings"][0]["function"], "notes:wipe");
    // A project root given as a path is resolved the same way.
    let o = bin()
        .args(["check", "--format", "json", "."])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(json(&o)["findings"][0]["file"], "src/backend/notes.ts");

    let empty = tempfile::tempdir().unwrap();
    let o = bin()
        .arg("check")
        .current_dir(empty.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn single_files_are_analysed_with_their_folder_but_only_they_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "convex/a.ts", OPEN);
    write(dir.path(), "convex/b.ts", OPEN);
    // The check in c.ts lives in a helper module it imports.
    write(
        dir.path(),
        "convex/lib/auth.ts",
        "export async function requireUser(ctx: any) {\n  const id = await ctx.auth.getUserIdentity();\n  if (!id) throw new Error(\"no\");\n  return id;\n}\n",
    );
    write(
        dir.path(),
        "convex/c.ts",
        "import { mutation } from \"./_generated/server\";\nimport { requireUser } from \"./lib/auth\";\nexport const add = mutation({ args: {}, handler: async (ctx) => { await requireUser(ctx); await ctx.db.insert(\"n\", {}); } });\n",
    );
    let o = bin()
        .args(["check", "--format", "json", "convex/b.ts", "convex/c.ts"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let v = json(&o);
    let files: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "missing-auth")
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    // c.ts is authenticated through lib/auth.ts; a.ts was not named.
    assert_eq!(files, vec!["convex/b.ts"]);
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["file"] != "convex/a.ts"));
    assert_eq!(v["summary"]["files_checked"], 4);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn parse_errors_are_reported_and_other_files_still_checked() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "convex/broken.ts", "export const x = ;\n");
    write(dir.path(), "convex/notes.ts", OPEN);
    let o = bin()
        .args(["check", "--format", "json"])
        .arg(dir.path().join("convex"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let v = json(&o);
    assert_eq!(v["errors"][0]["line"], 1);
    assert_eq!(v["errors"][0]["column"], 18);
    assert!(v["errors"][0]["file"]
        .as_str()
        .unwrap()
        .ends_with("convex/broken.ts"));
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("syntax error"));
    assert_eq!(v["findings"][0]["rule"], "missing-auth");
    let pretty = bin()
        .arg("check")
        .arg(dir.path().join("convex"))
        .output()
        .unwrap();
    let out = stdout(&pretty);
    assert!(out.contains("broken.ts:1:18: syntax error"), "{out}");
    assert!(out.contains("1 file could not be checked"), "{out}");
}

#[test]
fn unreadable_files_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "convex/notes.ts", OPEN);
    std::fs::write(
        dir.path().join("convex/latin1.ts"),
        b"export const caf\xe9 = 1;\n",
    )
    .unwrap();
    let o = bin()
        .args(["check", "--format", "json"])
        .arg(dir.path().join("convex"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let v = json(&o);
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("UTF-8"));
    assert_eq!(v["findings"].as_array().unwrap().len(), 1);
}

#[test]
fn quiet_drops_the_summary_and_rules_lists_every_rule() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "convex/notes.ts", OPEN);
    let o = bin()
        .args(["check", "--quiet"])
        .arg(dir.path().join("convex"))
        .output()
        .unwrap();
    assert!(!stdout(&o).contains("problem"), "{}", stdout(&o));
    let o = bin().arg("rules").output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(
        out.contains("missing-auth") && out.contains("unchecked-identity") && out.contains("error")
    );
}

#[test]
fn output_is_identical_at_one_and_many_threads() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..20 {
        write(dir.path(), &format!("convex/m{i}.ts"), OPEN);
    }
    let run = |format: &str, j: &str| {
        let o = bin()
            .args(["check", "--format", format, "-j", j])
            .arg(dir.path().join("convex"))
            .output()
            .unwrap();
        o.stdout
    };
    for format in ["json", "sarif"] {
        assert_eq!(run(format, "1"), run(format, "4"), "{format}");
    }
}

#[cfg(unix)]
#[test]
fn permission_denied_is_reported_with_the_path() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "convex/notes.ts", OPEN);
    write(dir.path(), "convex/secret.ts", CLOSED);
    let secret = dir.path().join("convex/secret.ts");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).unwrap();
    let mut check = bin();
    if std::fs::read(&secret).is_ok() {
        // Root reads mode-000 files: run as `nobody` instead (CI runs as root),
        // in a folder nobody may enter.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let setpriv = ["--reuid=65534", "--regid=65534", "--clear-groups"];
        let can_drop = Command::new("setpriv")
            .args(setpriv)
            .arg("true")
            .status()
            .is_ok_and(|s| s.success());
        if !can_drop {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI: this test needs to run as a user who cannot read mode-000 files, or setpriv"
            );
            eprintln!("skipped: running as root without setpriv to drop privileges");
            return;
        }
        check = Command::new("setpriv");
        check
            .args(setpriv)
            .arg(env!("CARGO_BIN_EXE_convex-audit"))
            .env("NO_COLOR", "1");
    }
    let o = check
        .args(["check", "--format", "json"])
        .arg(dir.path().join("convex"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let v = json(&o);
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("permission denied"));
    assert!(v["errors"][0]["file"]
        .as_str()
        .unwrap()
        .ends_with("secret.ts"));
    assert_eq!(v["findings"].as_array().unwrap().len(), 1);
}

#[test]
fn compact_and_github_formats() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "convex/notes.ts", OPEN);
    let o = bin()
        .args(["check", "--format", "compact", "convex"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let out = stdout(&o);
    assert!(
        out.starts_with("convex/notes.ts:2:14: error missing-auth public mutation `notes:wipe`"),
        "{out}"
    );
    assert_eq!(o.status.code(), Some(1));
    let o = bin()
        .args(["check", "--format", "github", "convex"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let out = stdout(&o);
    // Properties escape `:` and `,`; the message only `%`, CR and LF.
    assert!(
        out.starts_with("::error file=convex/notes.ts,line=2,col=14,endLine=2,endColumn=18,title=convex-audit(missing-auth)::public mutation `notes:wipe`"),
        "{out}"
    );
    assert!(!out.contains('\r'));
}

#[test]
fn sarif_is_valid_against_the_2_1_0_schema() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "convex/notes.ts", OPEN);
    write(
        dir.path(),
        "convex/my notes.ts",
        &OPEN.replace("wipe", "wipeAll"),
    );
    write(dir.path(), "convex/broken.ts", "export const = ;\n");
    let o = bin()
        .args(["check", "--format", "sarif", "convex"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "a file could not be parsed");
    let log = json(&o);
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("schemas/sarif-schema-2.1.0.json")).unwrap();
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // The validator does reject what the schema forbids.
    let mut bad = log.clone();
    bad["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!validator.is_valid(&bad));

    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let listed = bin().arg("rules").output().unwrap();
    assert_eq!(rules.len(), stdout(&listed).lines().count());
    for r in rules {
        let id = r["id"].as_str().unwrap();
        assert!(r["helpUri"]
            .as_str()
            .unwrap()
            .ends_with(&format!("rules/{id}.md")));
        assert!(r["help"]["markdown"]
            .as_str()
            .unwrap()
            .starts_with(&format!("# {id}")));
        assert!(!r["help"]["text"].as_str().unwrap().contains("```"));
        assert!(!r["fullDescription"]["text"].as_str().unwrap().is_empty());
    }
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{results:#?}");
    let first = &results[0];
    assert_eq!(first["ruleId"], "missing-auth");
    assert_eq!(first["level"], "error");
    let index = first["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(rules[index]["id"], "missing-auth");
    let uri = first["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str();
    assert_eq!(uri, Some("convex/my%20notes.ts"));
    assert_eq!(
        first["locations"][0]["physicalLocation"]["region"]["startLine"],
        2
    );
    assert!(first["partialFingerprints"]["convexAudit/v1"].is_string());
    let notes = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(run["invocations"][0]["executionSuccessful"], false);
}

#[test]
fn fail_on_and_max_warnings_gate_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    // An authenticated insert with no rate limit: one warning, no error.
    write(
        dir.path(),
        "convex/notes.ts",
        "import { mutation } from \"./_generated/server\";\nexport const add = mutation({ args: {}, handler: async (ctx) => {\n  const id = await ctx.auth.getUserIdentity();\n  if (!id) throw new Error(\"x\");\n  await ctx.db.insert(\"notes\", { owner: id.subject });\n} });\n",
    );
    let code = |extra: &[&str]| {
        let mut c = bin();
        c.args(["check", "--quiet", "convex"])
            .args(extra)
            .current_dir(dir.path());
        c.output().unwrap().status.code()
    };
    assert_eq!(code(&[]), Some(0));
    assert_eq!(code(&["--fail-on", "warning"]), Some(1));
    assert_eq!(code(&["--fail-on", "never"]), Some(0));
    assert_eq!(code(&["--max-warnings", "0"]), Some(1));
    assert_eq!(code(&["--max-warnings", "1"]), Some(0));
}

#[test]
fn explain_prints_a_rule_doc_and_suggests_on_typos() {
    let o = bin().args(["explain", "missing-auth"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(out.starts_with("missing-auth\n============\n"), "{out}");
    assert!(!out.contains("```") && !out.contains("## "), "{out}");
    assert!(
        out.contains("    export const remove = mutation({"),
        "{out}"
    );
    let o = bin().args(["explain", "missing-auht"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("did you mean `missing-auth`"));
}

#[test]
fn baseline_survives_moved_lines_and_counts_fixes() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "convex/notes.ts", OPEN);
    let base = dir.path().join("baseline.json");
    let o = bin()
        .args(["check", "convex", "--write-baseline"])
        .arg(&base)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    // Unrelated edits move the finding down three lines.
    write(
        dir.path(),
        "convex/notes.ts",
        &format!("// notes\n// more notes\n\n{OPEN}"),
    );
    let run = || {
        let o = bin()
            .args(["check", "convex", "--format", "json", "--baseline"])
            .arg(&base)
            .current_dir(dir.path())
            .output()
            .unwrap();
        (o.status.code(), json(&o))
    };
    let (code, v) = run();
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["findings"].as_array().unwrap().len(), 0);
    assert_eq!(v["summary"]["baseline_fixed"], 0);
    // A new open function is reported; the recorded one is not.
    write(dir.path(), "convex/more.ts", &OPEN.replace("wipe", "purge"));
    let (code, v) = run();
    assert_eq!(code, Some(1));
    let ids: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["function"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["more:purge"]);
    // Fixing the recorded one counts as fixed.
    std::fs::remove_file(dir.path().join("convex/notes.ts")).unwrap();
    let (_, v) = run();
    assert_eq!(v["summary"]["baseline_fixed"], 1);
    // A baseline that is not one is a usage error.
    std::fs::write(&base, "not json").unwrap();
    let (code, _) = {
        let o = bin()
            .args(["check", "convex", "--baseline"])
            .arg(&base)
            .current_dir(dir.path())
            .output()
            .unwrap();
        (o.status.code(), ())
    };
    assert_eq!(code, Some(2));
}

#[test]
fn config_levels_public_functions_excludes_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "convex/notes.ts", OPEN);
    write(dir.path(), "convex/seed.ts", &OPEN.replace("wipe", "reset"));
    let run = || {
        let o = bin()
            .args(["check", "--format", "json", "convex"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        (o.status.code(), json(&o))
    };
    // Found by walking up from the checked folder.
    write(
        dir.path(),
        "convex-audit.toml",
        "exclude = [\"seed.ts\"]\n\n[rules]\nmissing-rate-limit = \"off\"\nmissing-auth = \"warning\"\n",
    );
    let (code, v) = run();
    let rules: Vec<(&str, &str)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["rule"].as_str().unwrap(), f["severity"].as_str().unwrap()))
        .collect();
    assert_eq!(rules, vec![("missing-auth", "warning")]);
    assert_eq!(v["summary"]["files_checked"], 1);
    assert_eq!(code, Some(0));
    // Public on purpose, with a reason.
    write(
        dir.path(),
        "convex-audit.toml",
        "[rules]\nmissing-rate-limit = \"off\"\n\n[[public]]\nfunction = \"notes:*\"\nreason = \"demo data\"\n",
    );
    let (_, v) = run();
    let found: Vec<(&str, &str)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["rule"].as_str().unwrap(), f["function"].as_str().unwrap()))
        .collect();
    assert_eq!(
        found,
        vec![
            ("missing-auth", "seed:reset"),
            ("should-be-internal", "seed:reset")
        ]
    );
    // Mistakes: exit 2, naming the file and line, with a suggestion.
    write(
        dir.path(),
        "convex-audit.toml",
        "[rules]\nmissing-auht = \"off\"\n",
    );
    let err = config_error(dir.path());
    assert!(
        err.contains(
            "convex-audit.toml:2: unknown rule `missing-auht` (did you mean `missing-auth`?)"
        ),
        "{err}"
    );
    // --config names another file; init writes a starter that parses.
    std::fs::remove_file(dir.path().join("convex-audit.toml")).unwrap();
    let o = bin().arg("init").current_dir(dir.path()).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let o = bin().arg("init").current_dir(dir.path()).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "init must not overwrite");
    write(
        dir.path(),
        "other.toml",
        "[rules]\nmissing-auth = \"off\"\nmissing-rate-limit = \"off\"\nshould-be-internal = \"off\"\n",
    );
    let o = bin()
        .args([
            "check",
            "--format",
            "json",
            "--config",
            "other.toml",
            "convex",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(json(&o)["findings"].as_array().unwrap().len(), 0);
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn config_names_project_specific_checks() {
    let dir = tempfile::tempdir().unwrap();
    // A check from a package the analysis cannot see into, and one in the project it does not
    // recognise (a session table lookup keyed by an argument).
    write(
        dir.path(),
        "convex/notes.ts",
        "import { v } from \"convex/values\";\nimport { requireSession } from \"@acme/sessions\";\nimport { mutation } from \"./_generated/server\";\nimport { checkSession } from \"./lib/session\";\nexport const a = mutation({ args: { id: v.id(\"notes\") }, handler: async (ctx, { id }) => { await requireSession(ctx); await ctx.db.patch(id, { seen: true }); } });\nexport const b = mutation({ args: { id: v.id(\"notes\"), s: v.string() }, handler: async (ctx, { id, s }) => { await checkSession(ctx, s); await ctx.db.patch(id, { seen: true }); } });\n",
    );
    write(
        dir.path(),
        "convex/lib/session.ts",
        "export async function checkSession(ctx: any, s: string) {\n  const row = await ctx.db.query(\"sessions\").withIndex(\"by_token\", (q: any) => q.eq(\"token\", s)).unique();\n  if (!row) throw new Error(\"no session\");\n  return row;\n}\n",
    );
    let ids = || {
        let o = bin()
            .args(["check", "--format", "json", "convex"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        let v = json(&o);
        let mut ids: Vec<String> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == "missing-auth")
            .map(|f| f["function"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(), vec!["notes:a", "notes:b"]);
    write(
        dir.path(),
        "convex-audit.toml",
        "[auth]\nfunctions = [\"requireSession\", \"lib/session:checkSession\"]\n",
    );
    assert_eq!(ids(), Vec::<String>::new());
}

#[test]
fn config_names_owner_fields() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "convex/leases.ts",
        r#"import { v } from "convex/values";
import { query } from "./_generated/server";
export const list = query({
  args: { landlordId: v.id("users") },
  handler: async (ctx, { landlordId }) => {
    const identity = await ctx.auth.getUserIdentity();
    if (!identity) throw new Error("Not authenticated");
    return await ctx.db
      .query("leases")
      .withIndex("by_landlord", (q) => q.eq("landlordId", landlordId))
      .collect();
  },
});
"#,
    );
    let rules = || {
        let o = bin()
            .args(["check", "--format", "json", "convex"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        json(&o)["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    // `landlordId` is not a name the linter knows to mean the caller...
    assert_eq!(rules(), Vec::<String>::new());
    // ...until the project says it holds the owner's id.
    write(
        dir.path(),
        "convex-audit.toml",
        "[ownership]\nfields = [\"landlordId\"]\n",
    );
    assert_eq!(rules(), vec!["client-supplied-user-id"]);
    write(
        dir.path(),
        "convex-audit.toml",
        "[ownership]\nfield = [\"landlordId\"]\n",
    );
    let err = config_error(dir.path());
    assert!(err.contains("convex-audit.toml:2"), "{err}");
    assert!(err.contains("fields"), "{err}");
}

/// A reader that goes away early (`| head -1`) ends the run quietly in
/// every format: the findings decide the exit code, not the failed write.
#[test]
fn a_closed_pipe_is_not_an_error() {
    use std::io::Read;
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    // Enough open functions that each format's output outgrows a pipe's buffer.
    let mut src = String::from("import { query } from \"./_generated/server\";\n");
    for i in 0..400 {
        src.push_str(&format!(
            "export const q{i} = query({{ args: {{}}, handler: async (ctx) => await ctx.db.query(\"t\").collect() }});\n"
        ));
    }
    write(dir.path(), "convex/open.ts", &src);
    for format in ["json", "compact", "github", "sarif", "pretty"] {
        let mut child = bin()
            .args(["check", "convex", "--format", format])
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = child.stdout.take().unwrap();
        let mut first = [0u8; 1];
        out.read_exact(&mut first).unwrap();
        drop(out);
        let o = child.wait_with_output().unwrap();
        assert_eq!(
            o.status.code(),
            Some(1),
            "{format}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

/// The summary claims success only when everything asked for was checked.
#[test]
fn summary_does_not_claim_success_when_something_was_not_checked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("convex")).unwrap();
    let summary = || {
        let o = bin()
            .arg("check")
            .arg(dir.path().join("convex"))
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2));
        let out = stdout(&o);
        assert!(!out.contains('✔'), "{out}");
        out
    };
    let out = summary();
    assert!(out.contains("Nothing was checked"), "{out}");

    write(dir.path(), "convex/ok.ts", "export const x = 1;\n");
    write(dir.path(), "convex/broken.ts", "export const = ;\n");
    let out = summary();
    assert!(
        out.contains("No problems found in 2 files") && out.contains("1 file could not be checked"),
        "{out}"
    );
}
