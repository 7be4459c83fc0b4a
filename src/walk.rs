//! Finding what to check: the functions folder behind each path the user gave,
//! and the sorted list of source files in it.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use walkdir::WalkDir;

/// A Convex functions folder to analyse as one project.
#[derive(Debug, Clone)]
pub struct Target {
    /// The folder, as the user would type it.
    pub root: PathBuf,
    /// When files were named, only findings in these are reported.
    pub only: Option<Vec<PathBuf>>,
}

#[derive(Debug, Clone)]
pub struct SourceFile {
    /// As the user would type it (root joined with the relative path).
    pub path: PathBuf,
    /// Relative to the functions folder, `/`-separated (for include/exclude globs).
    pub rel: String,
    /// Module id: relative to the root, `/`-separated, no extension.
    pub module: String,
    pub tsx: bool,
}

/// A problem walking the tree: the path and what went wrong.
#[derive(Debug, Clone)]
pub struct WalkError {
    pub path: PathBuf,
    pub message: String,
}

/// `./a/../b` -> `b`, without touching the file system.
pub fn tidy(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// The functions folder `convex.json` names in `dir`, if it has one.
fn configured_functions(dir: &Path) -> Option<PathBuf> {
    let text = std::fs::read_to_string(dir.join("convex.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let functions = json.get("functions")?.as_str()?;
    Some(tidy(&dir.join(functions)))
}

/// The functions folder of a project root, or the folder itself.
fn functions_dir(dir: &Path) -> PathBuf {
    if let Some(f) = configured_functions(dir) {
        return f;
    }
    let convex = dir.join("convex");
    if convex.is_dir() {
        return tidy(&convex);
    }
    tidy(dir)
}

/// The functions folder that holds a file.
fn root_of_file(file: &Path) -> PathBuf {
    let mut dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.as_os_str().is_empty() {
        dir = PathBuf::from(".");
    }
    for anc in dir.ancestors() {
        let a = if anc.as_os_str().is_empty() {
            Path::new(".")
        } else {
            anc
        };
        if a.join("_generated").is_dir() {
            return tidy(a);
        }
        if let Some(f) = configured_functions(a) {
            if tidy(file).starts_with(&f) {
                return f;
            }
        }
        if a.file_name().is_some_and(|n| n == "convex") {
            return tidy(a);
        }
    }
    tidy(&dir)
}

/// Maps the user's paths to projects. Errors name a path that does not exist.
pub fn targets(paths: &[PathBuf]) -> Result<Vec<Target>, WalkError> {
    if paths.is_empty() {
        let here = Path::new(".");
        let root = configured_functions(here).unwrap_or_else(|| PathBuf::from("convex"));
        if !root.is_dir() {
            return Err(WalkError {
                path: root,
                message: "no Convex functions folder here (no convex.json, no ./convex): pass the folder to check".into(),
            });
        }
        return Ok(vec![Target { root, only: None }]);
    }
    let mut by_root: BTreeMap<PathBuf, Option<Vec<PathBuf>>> = BTreeMap::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| WalkError {
            path: p.clone(),
            message: io_message(&e),
        })?;
        if meta.is_dir() {
            by_root.insert(functions_dir(p), None);
        } else {
            let root = root_of_file(p);
            let entry = by_root.entry(root).or_insert_with(|| Some(Vec::new()));
            if let Some(files) = entry {
                files.push(tidy(p));
            }
        }
    }
    Ok(by_root
        .into_iter()
        .map(|(root, only)| Target { root, only })
        .collect())
}

pub fn io_message(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

fn source_kind(name: &str) -> Option<bool> {
    if name.ends_with(".d.ts") || name.ends_with(".d.mts") || name.ends_with(".d.cts") {
        return None;
    }
    let ext = name.rsplit_once('.')?.1;
    match ext {
        "ts" | "mts" | "cts" | "js" | "mjs" | "cjs" => Some(false),
        "tsx" | "jsx" => Some(true),
        _ => None,
    }
}

/// TypeScript path aliases that point into the functions folder, as
/// (import prefix, module id prefix): `"@cvx/*": ["./*"]` gives `("@cvx/", "")`.
/// Read from the folder's own tsconfig (the one Convex bundles with) and the
/// project root's.
pub fn path_aliases(root: &Path) -> Vec<(String, String)> {
    let root = tidy(root);
    let parent = root.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut out = Vec::new();
    for file in [
        root.join("tsconfig.json"),
        parent.join("tsconfig.json"),
        parent.join("tsconfig.app.json"),
    ] {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let Ok(json) =
            jsonc_parser::parse_to_serde_value::<serde_json::Value>(&text, &Default::default())
        else {
            continue;
        };
        let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
        let options = json.get("compilerOptions");
        let base = match options
            .and_then(|o| o.get("baseUrl"))
            .and_then(|b| b.as_str())
        {
            Some(b) => dir.join(b),
            None => dir.clone(),
        };
        let Some(paths) = options
            .and_then(|o| o.get("paths"))
            .and_then(|p| p.as_object())
        else {
            continue;
        };
        for (key, targets) in paths {
            let Some(prefix) = key.strip_suffix('*') else {
                continue;
            };
            let Some(target) = targets
                .as_array()
                .and_then(|t| t.first())
                .and_then(|t| t.as_str())
            else {
                continue;
            };
            let Some(target_dir) = target.strip_suffix('*') else {
                continue;
            };
            let resolved = tidy(&base.join(target_dir));
            let slashed = |p: &Path| {
                let mut s = p.to_string_lossy().replace('\\', "/");
                if !s.is_empty() && !s.ends_with('/') {
                    s.push('/');
                }
                s
            };
            let alias = if let Ok(rel) = resolved.strip_prefix(&root) {
                // `"@/*": ["./*"]` in the functions folder: `@/lib/x` is `lib/x`.
                (prefix.to_string(), slashed(rel))
            } else if let Ok(down) = root.strip_prefix(&resolved) {
                // `"@/*": ["../*"]`: `@/convex/lib/x` is `lib/x`.
                (format!("{prefix}{}", slashed(down)), String::new())
            } else {
                continue;
            };
            if !out.iter().any(|(p, _): &(String, String)| *p == alias.0) {
                out.push(alias);
            }
        }
    }
    out
}

/// Every source file under `root`, sorted; `_generated`, `node_modules` and
/// dot-folders skipped; symlinks not followed.
pub fn files(root: &Path) -> (Vec<SourceFile>, Vec<WalkError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    let walker = WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            if e.depth() == 0 || !e.file_type().is_dir() {
                return true;
            }
            let name = e.file_name().to_string_lossy();
            !(name.starts_with('.') || name == "node_modules" || name == "_generated")
        });
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let path = e
                    .path()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| root.to_path_buf());
                let message = e
                    .io_error()
                    .map(io_message)
                    .unwrap_or_else(|| e.to_string());
                errors.push(WalkError { path, message });
                continue;
            }
        };
        let name = entry.file_name().to_string_lossy();
        if entry.path_is_symlink() {
            // Not followed (a loop, or code outside the project): say so, as
            // the folder is then not entirely checked.
            let target = std::fs::metadata(entry.path());
            let is_dir = target.as_ref().is_ok_and(|m| m.is_dir());
            let hidden = name.starts_with('.') || name == "node_modules" || name == "_generated";
            // A link that cannot be resolved (a loop) could be either.
            if !hidden && (is_dir || target.is_err() || source_kind(&name).is_some()) {
                errors.push(WalkError {
                    path: tidy(entry.path()),
                    message: "symbolic link: not followed (only files inside the functions folder are checked)".into(),
                });
            }
            continue;
        }
        if !entry.file_type().is_file() {
            continue;
        }
        let Some(tsx) = source_kind(&name) else {
            continue;
        };
        let Ok(rel) = entry.path().strip_prefix(root) else {
            continue;
        };
        let module = module_id(rel);
        let rel = rel.to_string_lossy().replace('\\', "/");
        files.push(SourceFile {
            path: tidy(entry.path()),
            rel,
            module,
            tsx,
        });
    }
    (files, errors)
}

/// `admin/users.ts` -> `admin/users`.
fn module_id(rel: &Path) -> String {
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let joined = parts.join("/");
    match joined.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem.to_string(),
        _ => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_ids_drop_extension() {
        assert_eq!(module_id(Path::new("admin/users.ts")), "admin/users");
        assert_eq!(module_id(Path::new("http.ts")), "http");
    }

    #[test]
    fn tidy_paths() {
        assert_eq!(
            tidy(Path::new("./convex/./a.ts")),
            PathBuf::from("convex/a.ts")
        );
        assert_eq!(tidy(Path::new(".")), PathBuf::from("."));
        assert_eq!(tidy(Path::new("../x")), PathBuf::from("../x"));
    }

    #[test]
    fn source_kinds() {
        assert_eq!(source_kind("a.ts"), Some(false));
        assert_eq!(source_kind("a.tsx"), Some(true));
        assert_eq!(source_kind("a.d.ts"), None);
        assert_eq!(source_kind("a.json"), None);
    }
}
