//! Suppression comments, in ESLint's grammar with our prefix:
//! `// convex-audit-disable-next-line <rule>[, <rule>] -- <reason>`,
//! `// convex-audit-disable-line ...`, and `/* convex-audit-disable ... */`
//! ... `/* convex-audit-enable ... */` blocks. With no rule named, every rule.

use crate::finding::Located;
use crate::model::{ModIx, Project, Sp};

pub const PREFIX: &str = "convex-audit-";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    NextLine,
    Line,
    Disable,
    Enable,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::NextLine => "convex-audit-disable-next-line",
            Kind::Line => "convex-audit-disable-line",
            Kind::Disable => "convex-audit-disable",
            Kind::Enable => "convex-audit-enable",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Directive {
    pub kind: Kind,
    /// Empty: every rule.
    pub rules: Vec<String>,
    /// The text after ` -- `, trimmed; None when missing or empty.
    pub reason: Option<String>,
    pub span: Sp,
    /// 1-based lines the comment starts and ends on.
    pub line: usize,
    pub end_line: usize,
}

/// Parses a comment's text (without `//` or `/* */`); None if it is not ours.
pub fn parse(text: &str) -> Option<(Kind, Vec<String>, Option<String>)> {
    let text = text.trim();
    let rest = text.strip_prefix(PREFIX)?;
    let (kind, rest) = if let Some(r) = rest.strip_prefix("disable-next-line") {
        (Kind::NextLine, r)
    } else if let Some(r) = rest.strip_prefix("disable-line") {
        (Kind::Line, r)
    } else if let Some(r) = rest.strip_prefix("disable") {
        (Kind::Disable, r)
    } else if let Some(r) = rest.strip_prefix("enable") {
        (Kind::Enable, r)
    } else {
        return None;
    };
    // `convex-audit-disabled` is not a directive.
    if !(rest.is_empty() || rest.starts_with(char::is_whitespace)) {
        return None;
    }
    let (rules, reason) = match rest.split_once("--") {
        Some((rules, reason)) => (rules, Some(reason.trim())),
        None => (rest, None),
    };
    let rules = rules
        .split([',', ' ', '\t', '\n'])
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(String::from)
        .collect();
    let reason = reason.filter(|r| !r.is_empty()).map(String::from);
    Some((kind, rules, reason))
}

fn names(d: &Directive, rule: &str) -> bool {
    d.rules.is_empty() || d.rules.iter().any(|r| r == rule)
}

/// Drops suppressed findings; returns the directives that suppressed nothing,
/// as (module, index into its directives), in module order.
pub fn apply(project: &Project, located: &mut Vec<(ModIx, Located)>) -> Vec<(ModIx, usize)> {
    let mut used: Vec<Vec<bool>> = project
        .modules
        .iter()
        .map(|m| vec![false; m.facts.directives.len()])
        .collect();
    located.retain(|(m, f)| {
        let Some(module) = project.module(*m) else {
            return true;
        };
        let directives = &module.facts.directives;
        let hit = suppressor(directives, f.rule, f.line);
        if let Some(i) = hit {
            if let Some(slot) = used.get_mut(*m).and_then(|u| u.get_mut(i)) {
                *slot = true;
            }
        }
        hit.is_none()
    });
    let mut unused = Vec::new();
    for (m, module) in project.modules.iter().enumerate() {
        for (i, d) in module.facts.directives.iter().enumerate() {
            let was_used = used.get(m).and_then(|u| u.get(i)).copied().unwrap_or(true);
            if d.kind != Kind::Enable && !was_used {
                unused.push((m, i));
            }
        }
    }
    unused
}

/// The directive that silences `rule` on `line`, if any.
fn suppressor(directives: &[Directive], rule: &str, line: usize) -> Option<usize> {
    for (i, d) in directives.iter().enumerate() {
        let hit = match d.kind {
            Kind::NextLine => d.end_line + 1 == line,
            Kind::Line => d.line <= line && line <= d.end_line,
            Kind::Disable | Kind::Enable => false,
        };
        if hit && names(d, rule) {
            return Some(i);
        }
    }
    // Blocks: the last disable naming the rule before the line, not re-enabled since.
    let mut open: Option<usize> = None;
    for (i, d) in directives.iter().enumerate() {
        if d.line > line {
            break;
        }
        match d.kind {
            Kind::Disable if names(d, rule) => open = Some(i),
            Kind::Enable if names(d, rule) => open = None,
            _ => {}
        }
    }
    open
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar() {
        let (k, rules, reason) =
            parse(" convex-audit-disable-next-line missing-auth, env-leak -- landing page ")
                .unwrap_or((Kind::Enable, vec![], None));
        assert_eq!(k, Kind::NextLine);
        assert_eq!(rules, vec!["missing-auth", "env-leak"]);
        assert_eq!(reason.as_deref(), Some("landing page"));
        assert!(parse("convex-audit-disabled").is_none());
        assert!(parse("eslint-disable-next-line").is_none());
        let (k, rules, reason) = parse("convex-audit-disable").unwrap_or((
            Kind::Line,
            vec!["x".into()],
            Some("y".into()),
        ));
        assert_eq!((k, rules.len(), reason), (Kind::Disable, 0, None));
        let (_, _, reason) = parse("convex-audit-disable-line missing-auth --  ").unwrap_or((
            Kind::Line,
            vec![],
            Some("x".into()),
        ));
        assert_eq!(reason, None);
    }
}
