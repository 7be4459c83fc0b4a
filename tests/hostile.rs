//! Input meant to break the tool: each file gets a clear message naming it,
//! the other files are still checked, and exit code 2 says the check was
//! incomplete. Nothing crashes, hangs or is followed out of the project.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::OPEN;

use std::path::Path;
use std::process::{Command, Output};

fn check(dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_convex-audit"))
        .args(["check", "--format", "json"])
        .arg(dir.join("convex"))
        .output()
        .unwrap()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}); status {:?}; stderr {}",
            o.status,
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// A project with one open mutation beside the hostile file(s) `add` makes;
/// returns the errors, after checking the mutation was still reported.
fn errors_beside_open(add: impl FnOnce(&Path)) -> Vec<(String, String)> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("convex")).unwrap();
    std::fs::write(dir.path().join("convex/notes.ts"), OPEN).unwrap();
    add(&dir.path().join("convex"));
    let o = check(dir.path());
    assert_eq!(o.status.code(), Some(2), "incomplete check: exit 2");
    let v = json(&o);
    assert_eq!(v["findings"][0]["function"], "notes:wipe", "{v:#}");
    v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["file"].as_str().unwrap().replace('\\', "/"),
                e["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn single(errors: &[(String, String)], file: &str, says: &str) {
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].0.ends_with(file), "{errors:?}");
    assert!(errors[0].1.contains(says), "{errors:?}");
}

#[test]
fn non_utf8_and_binary_junk() {
    let e = errors_beside_open(|c| {
        std::fs::write(c.join("latin1.ts"), b"const caf\xe9 = 1;\n").unwrap()
    });
    single(&e, "latin1.ts", "not valid UTF-8");
    // Junk that is not UTF-8, with NULs and every byte value.
    let junk: Vec<u8> = (0..100_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let e = errors_beside_open(|c| std::fs::write(c.join("junk.ts"), &junk).unwrap());
    single(&e, "junk.ts", "not valid UTF-8");
}

#[test]
fn utf16_is_named_as_such() {
    for bom in [[0xFF, 0xFE], [0xFE, 0xFF]] {
        let mut bytes = bom.to_vec();
        for u in "export const x = 1;\n".encode_utf16() {
            let b = if bom[0] == 0xFF {
                u.to_le_bytes()
            } else {
                u.to_be_bytes()
            };
            bytes.extend(b);
        }
        let e = errors_beside_open(|c| std::fs::write(c.join("wide.ts"), &bytes).unwrap());
        single(&e, "wide.ts", "UTF-16");
    }
}

#[test]
fn a_utf8_byte_order_mark_is_fine() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("convex")).unwrap();
    std::fs::write(
        dir.path().join("convex/notes.ts"),
        format!("\u{feff}{OPEN}"),
    )
    .unwrap();
    let o = check(dir.path());
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json(&o)["findings"][0]["function"], "notes:wipe");
}

#[test]
fn a_50_mb_file_is_reported_not_read() {
    let e = errors_beside_open(|c| {
        let f = std::fs::File::create(c.join("bundle.js")).unwrap();
        f.set_len(50 * 1024 * 1024).unwrap();
    });
    single(&e, "bundle.js", "larger than 8388608 bytes");
}

#[test]
fn deep_nesting_is_reported_not_overflowed() {
    // At 1,000,000 levels swc's parser overflows a 512 MiB stack; the
    // nesting guard reports these before parsing.
    for n in [10_000, 1_000_000] {
        let e = errors_beside_open(|c| {
            let parens = format!("export const x = {}1{};\n", "(".repeat(n), ")".repeat(n));
            std::fs::write(c.join("parens.ts"), parens).unwrap();
        });
        single(&e, "parens.ts", "nested more than 1000 levels deep");
        let e = errors_beside_open(|c| {
            std::fs::write(
                c.join("arrows.ts"),
                format!("export const f = {}1;\n", "a => ".repeat(n)),
            )
            .unwrap();
        });
        single(&e, "arrows.ts", "nested more than 1000 levels deep");
        let e = errors_beside_open(|c| {
            let blocks = format!("function f() {}{}\n", "{".repeat(n), "}".repeat(n));
            std::fs::write(c.join("blocks.ts"), blocks).unwrap();
        });
        single(&e, "blocks.ts", "nested more than 1000 levels deep");
    }
    // Deep left-nested chains the parser builds iteratively: lowered up to its
    // depth bound, then reported.
    let e = errors_beside_open(|c| {
        let chain = format!(
            "export const f = async (ctx) => {{ await g{}; }};\n",
            "()".repeat(200_000)
        );
        std::fs::write(c.join("calls.ts"), chain).unwrap();
    });
    single(&e, "calls.ts", "nested more than 1000 levels deep");
}

#[cfg(unix)]
#[test]
fn symlinks_are_not_followed_and_are_named() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("evil.ts"), OPEN.replace("wipe", "evil")).unwrap();
    let e = errors_beside_open(|c| {
        std::os::unix::fs::symlink(c, c.join("loop")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("evil.ts"), c.join("evil.ts")).unwrap();
        std::os::unix::fs::symlink(outside.path(), c.join("shared")).unwrap();
    });
    let files: Vec<&str> = e
        .iter()
        .map(|(f, _)| f.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(files, vec!["evil.ts", "loop", "shared"], "{e:?}");
    assert!(e
        .iter()
        .all(|(_, m)| m.contains("symbolic link: not followed")));
}

#[test]
fn an_empty_folder_says_so() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("convex")).unwrap();
    let o = check(dir.path());
    assert_eq!(o.status.code(), Some(2));
    let v = json(&o);
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("no TypeScript or JavaScript files"));
}

#[test]
fn a_missing_path_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let o = check(&dir.path().join("nope"));
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("nope") && err.contains("no such file or directory"),
        "{err}"
    );
}

#[test]
fn circular_imports_between_helpers_end() {
    // Mutually recursive helpers across two modules, and a cycle of
    // re-exports: the summaries' fixpoint must end, and conservatively.
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("convex");
    std::fs::create_dir_all(&c).unwrap();
    std::fs::write(
        c.join("a.ts"),
        "import { b } from \"./b\";\nexport * from \"./b\";\nexport async function a(ctx: any, n: number): Promise<any> {\n  if (n > 0) return b(ctx, n - 1);\n  return ctx.db.query(\"notes\").collect();\n}\n",
    )
    .unwrap();
    std::fs::write(
        c.join("b.ts"),
        "import { a } from \"./a\";\nexport * from \"./a\";\nexport async function b(ctx: any, n: number): Promise<any> {\n  return a(ctx, n);\n}\n",
    )
    .unwrap();
    std::fs::write(
        c.join("notes.ts"),
        "import { query } from \"./_generated/server\";\nimport { a } from \"./b\";\nexport const list = query({ args: {}, handler: async (ctx) => a(ctx, 3) });\n",
    )
    .unwrap();
    let o = check(dir.path());
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = json(&o);
    assert_eq!(v["findings"][0]["rule"], "missing-auth");
    assert_eq!(v["findings"][0]["function"], "notes:list");
}

#[test]
fn inputs_found_by_fuzzing() {
    // An unclosed parameter list before `=>` trips a debug assertion inside
    // swc (fuzz builds); release builds must report a syntax error.
    for (name, text) in [
        ("params.ts", "export const f = async (ctx, { id }\t => {\n  return id;\n};\n"),
        ("bang.ts", "export const g = query({\n  handler: async (ctx, args! => {\n    return 1;\n  },\n});\n"),
    ] {
        let e = errors_beside_open(|c| std::fs::write(c.join(name), text).unwrap());
        single(&e, name, "syntax error");
    }
}
