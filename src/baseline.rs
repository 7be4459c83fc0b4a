//! Baselines: record today's findings, then report only new ones. A finding's
//! fingerprint is its rule, file, Convex function and a hash of the flagged
//! code, never its line, so unrelated edits that move code keep it matched.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::engine::Report;
use crate::finding::Located;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Fingerprint {
    pub rule: String,
    pub file: String,
    pub function: Option<String>,
    /// FNV-1a of the flagged code and the message, in hex.
    pub code: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct File {
    version: u32,
    findings: Vec<Entry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    #[serde(flatten)]
    fingerprint: Fingerprint,
    count: usize,
}

/// FNV-1a, 64 bits: stable across runs, platforms and compiler versions
/// (std's hasher is not), and enough to tell findings apart.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The hash a fingerprint keeps of the flagged code and the message.
pub fn code_hash(code: &str, message: &str) -> u64 {
    let mut key = String::with_capacity(code.len() + message.len() + 1);
    key.push_str(code);
    key.push('\u{0}');
    key.push_str(message);
    fnv1a(key.as_bytes())
}

pub fn fingerprint(f: &Located) -> Fingerprint {
    Fingerprint {
        rule: f.rule.to_string(),
        file: f.file.to_string_lossy().replace('\\', "/"),
        function: f.function.clone(),
        code: format!("{:016x}", f.code_hash),
    }
}

/// One opaque string for a fingerprint (SARIF's `partialFingerprints`).
pub fn digest(fp: &Fingerprint) -> String {
    let key = format!(
        "{}\0{}\0{}\0{}",
        fp.rule,
        fp.file,
        fp.function.as_deref().unwrap_or(""),
        fp.code
    );
    format!("{:016x}", fnv1a(key.as_bytes()))
}

fn counts(report: &Report) -> BTreeMap<Fingerprint, usize> {
    let mut map = BTreeMap::new();
    for f in &report.findings {
        *map.entry(fingerprint(f)).or_insert(0) += 1;
    }
    map
}

/// Writes the report's findings as a baseline file.
pub fn write(path: &Path, report: &Report) -> std::io::Result<()> {
    let findings = counts(report)
        .into_iter()
        .map(|(fingerprint, count)| Entry { fingerprint, count })
        .collect();
    let text = serde_json::to_string_pretty(&File {
        version: 1,
        findings,
    })
    .map_err(std::io::Error::other)?;
    std::fs::write(path, text + "\n")
}

/// Drops findings recorded in the baseline; returns how many recorded ones
/// are gone (fixed since).
pub fn apply(path: &Path, report: &mut Report) -> Result<usize, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: {}", path.display(), crate::walk::io_message(&e)))?;
    let file: File = serde_json::from_str(&text)
        .map_err(|e| format!("{}: not a convex-audit baseline: {e}", path.display()))?;
    let mut left: BTreeMap<Fingerprint, usize> = file
        .findings
        .into_iter()
        .map(|e| (e.fingerprint, e.count))
        .collect();
    report.findings.retain(|f| {
        let fp = fingerprint(f);
        match left.get_mut(&fp) {
            Some(n) if *n > 0 => {
                *n -= 1;
                false
            }
            _ => true,
        }
    });
    Ok(left.values().sum())
}

#[cfg(test)]
mod tests {
    #[test]
    fn fnv_is_stable() {
        assert_eq!(super::fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(super::fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
