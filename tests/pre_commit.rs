//! Runs `.pre-commit-hooks.yaml` through the real `pre-commit` tool on a
//! scratch git repository. Skips, saying so, where `pre-commit` is absent;
//! `.ci/run` installs it so CI never skips.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    // A test that skips says so.
    clippy::print_stderr
)]

use std::path::Path;
use std::process::Command;

fn run(dir: &Path, cmd: &str, args: &[&str]) -> std::process::Output {
    Command::new(cmd)
        .args(args)
        .current_dir(dir)
        .env("PRE_COMMIT_HOME", dir.join(".pre-commit-home"))
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"))
}

#[test]
fn pre_commit_hook_reports_only_staged_files() {
    if Command::new("pre-commit")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI: `pre-commit` is not installed; .ci/run installs it"
        );
        eprintln!(
            "skipped: `pre-commit` is not installed (pip install pre-commit); .ci/run installs it"
        );
        return;
    }
    let repo = env!("CARGO_MANIFEST_DIR");
    let head = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(repo)
        .output()
        .unwrap();
    let rev = String::from_utf8_lossy(&head.stdout).trim().to_string();
    assert!(
        !rev.is_empty(),
        "the crate must be a git checkout with commits"
    );

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for args in [
        &["init", "-q"][..],
        &["config", "user.email", "t@example.com"],
        &["config", "user.name", "t"],
    ] {
        assert!(run(d, "git", args).status.success());
    }
    std::fs::create_dir_all(d.join("convex/lib")).unwrap();
    std::fs::write(
        d.join(".pre-commit-config.yaml"),
        format!("repos:\n  - repo: {repo}\n    rev: {rev}\n    hooks:\n      - id: convex-audit\n"),
    )
    .unwrap();
    // An open mutation, and an authenticated one whose check lives in another file.
    std::fs::write(
        d.join("convex/open.ts"),
        "import { mutation } from \"./_generated/server\";\nexport const wipe = mutation({ args: {}, handler: async (ctx) => { await ctx.db.delete(\"x\" as any); } });\n",
    )
    .unwrap();
    std::fs::write(
        d.join("convex/lib/auth.ts"),
        "export async function requireUser(ctx: any) {\n  const id = await ctx.auth.getUserIdentity();\n  if (!id) throw new Error(\"no\");\n  return id;\n}\n",
    )
    .unwrap();
    std::fs::write(
        d.join("convex/safe.ts"),
        "import { mutation } from \"./_generated/server\";\nimport { requireUser } from \"./lib/auth\";\nexport const rename = mutation({ args: {}, handler: async (ctx) => { await requireUser(ctx); await ctx.db.patch(\"x\" as any, {}); } });\n",
    )
    .unwrap();
    assert!(run(d, "git", &["add", "-A"]).status.success());

    // Only the safe file staged for the hook: the helper in lib/ is still seen, nothing reported.
    let safe = run(
        d,
        "pre-commit",
        &["run", "convex-audit", "--files", "convex/safe.ts"],
    );
    let out = String::from_utf8_lossy(&safe.stdout).into_owned();
    assert!(
        safe.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&safe.stderr)
    );

    // The open file: the hook fails and names it.
    let open = run(
        d,
        "pre-commit",
        &["run", "convex-audit", "--files", "convex/open.ts"],
    );
    let out = String::from_utf8_lossy(&open.stdout).into_owned();
    assert!(!open.status.success(), "{out}");
    assert!(
        out.contains("missing-auth") && out.contains("open:wipe"),
        "{out}"
    );
}
