//! A bound on how deeply a file nests, checked before parsing. swc's parser
//! recurses once per level of `(`, `{`, arrow bodies, ternaries and prefix
//! operators, and a crafted file of a million such levels overflows any
//! stack (the process aborts; it cannot be caught). Human-written code nests
//! a few dozen levels; past [`LIMIT`] the file is reported, not parsed.
//!
//! The scan is one pass over the bytes, skipping strings, comments and
//! template text. It over-approximates (a regex literal's `(` counts), which
//! only matters for files already near the limit.

/// Deeper than this is reported as "too deeply nested".
pub const LIMIT: usize = 1000;

/// Bytes the scan acts on; runs of others (names, spaces, digits: most of a
/// file) are skipped in a tight loop.
fn acts_on(c: u8) -> bool {
    matches!(
        c,
        b'/' | b'"'
            | b'\''
            | b'`'
            | b'('
            | b'['
            | b'{'
            | b')'
            | b']'
            | b'}'
            | b';'
            | b','
            | b'='
            | b'?'
            | b'!'
            | b'~'
            | b'<'
    )
}

/// The byte offset where the nesting first exceeds [`LIMIT`], if it does.
pub fn too_deep(src: &str) -> Option<usize> {
    let b = src.as_bytes();
    // Per open bracket: the chain count of the level it interrupted, and
    // whether it is a template's `${` (so `}` returns to template text).
    let mut stack: Vec<(usize, bool)> = Vec::new();
    // Prefix-like constructs (`=>`, `?`, `!`, `<Tag`) since the last `;` or
    // `,` at this level: each is one more level of parser recursion.
    let mut chain = 0usize;
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if stack.len() + chain > LIMIT {
            return Some(i);
        }
        if !acts_on(c) {
            // The depth cannot change before the next byte the scan acts on.
            i = find_from(b, i, |rest| rest.iter().position(|&d| acts_on(d)));
            continue;
        }
        let next = b.get(i + 1).copied().unwrap_or(0);
        match c {
            b'/' if next == b'/' => {
                i = find_from(b, i, |rest| memchr::memchr(b'\n', rest));
                continue;
            }
            b'/' if next == b'*' => {
                let end = find_from(b, i + 2, |rest| memchr::memmem::find(rest, b"*/"));
                i = (end + 2).min(b.len());
                continue;
            }
            b'"' | b'\'' => {
                i = skip_string(b, i, c);
                continue;
            }
            b'`' => {
                i = template_text(b, i + 1, &mut stack, &mut chain);
                continue;
            }
            b'(' | b'[' | b'{' => {
                stack.push((chain, false));
                chain = 0;
            }
            b')' | b']' | b'}' => {
                let (outer, in_template) = stack.pop().unwrap_or((0, false));
                chain = outer;
                if c == b'}' && in_template {
                    // Back in template text.
                    i = template_text(b, i + 1, &mut stack, &mut chain);
                    continue;
                }
            }
            b';' | b',' => chain = 0,
            b'=' if next == b'>' => {
                chain += 1;
                i += 1;
            }
            b'?' if next != b'.' && next != b'?' => chain += 1,
            b'!' | b'~' if next != b'=' => chain += 1,
            // A JSX element or type argument opens; a closing tag closes.
            b'<' if next.is_ascii_alphabetic() => chain += 1,
            b'<' if next == b'/' => chain = chain.saturating_sub(1),
            b'/' if next == b'>' => chain = chain.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    (stack.len() + chain > LIMIT).then_some(b.len())
}

/// In template text at `start`: skips to its end, or enters the next `${`
/// as one more expression level. Returns where scanning resumes.
fn template_text(
    b: &[u8],
    start: usize,
    stack: &mut Vec<(usize, bool)>,
    chain: &mut usize,
) -> usize {
    match skip_template(b, start) {
        Some(j) => {
            stack.push((*chain, true));
            *chain = 0;
            j
        }
        None => template_end(b, start),
    }
}

/// Where `find` first matches in `b` at or after `from`; the end of `b` when
/// it does not.
fn find_from(b: &[u8], from: usize, find: impl FnOnce(&[u8]) -> Option<usize>) -> usize {
    b.get(from..).and_then(find).map_or(b.len(), |p| p + from)
}

/// Past the closing quote (or the line's end: an unterminated string).
fn skip_string(b: &[u8], start: usize, quote: u8) -> usize {
    let mut i = start + 1;
    loop {
        i = find_from(b, i, |rest| memchr::memchr3(quote, b'\\', b'\n', rest));
        match b.get(i) {
            Some(b'\\') => i += 2,
            Some(b'\n') => return i,
            Some(_) => return i + 1,
            None => return b.len(),
        }
    }
}

/// From inside template text: `Some(i)` just past a `${`, or None when the
/// template closes first.
fn skip_template(b: &[u8], start: usize) -> Option<usize> {
    let mut i = start;
    while let Some(&c) = b.get(i) {
        match c {
            b'\\' => i += 2,
            b'`' => return None,
            b'$' if b.get(i + 1) == Some(&b'{') => return Some(i + 2),
            _ => i += 1,
        }
    }
    None
}

/// Past the closing backtick of template text starting at `start`.
fn template_end(b: &[u8], start: usize) -> usize {
    let mut i = start;
    while let Some(&c) = b.get(i) {
        match c {
            b'\\' => i += 2,
            b'`' => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_code_passes() {
        let src = r#"export const f = async (ctx, { id }) => {
  const x = a ? b : !c; // ((((( in a comment
  const s = "((((((" + '[[[[' + `${ctx.x} ((((`;
  return items.map((i) => <Row key={i} />);
};"#;
        assert_eq!(too_deep(src), None);
    }

    #[test]
    fn deep_brackets_arrows_and_templates_are_caught() {
        let n = LIMIT + 10;
        for src in [
            format!("x = {}1{};", "(".repeat(n), ")".repeat(n)),
            format!("x = {}1;", "a => ".repeat(n)),
            format!("x = {}a;", "!".repeat(n)),
            format!("x = {}c;", "a ? b : ".repeat(n)),
            format!("x = {}1{};", "`${".repeat(n), "}`".repeat(n)),
            format!("x = {};", "<a>".repeat(n)),
            format!("function f() {}{}", "{".repeat(n), "}".repeat(n)),
        ] {
            assert!(too_deep(&src).is_some(), "{}", &src[..40]);
        }
    }

    #[test]
    fn brackets_in_comments_and_strings_do_not_count() {
        let deep = "(".repeat(LIMIT + 10);
        for src in [
            format!("/* {deep} */ x = 1;"),
            format!("x = \"\\\" {deep}\";"),
            format!("x = '\\\\' + '{deep}';"),
            format!("// {deep}\nx = 1;"),
            format!("x = 1; /* unterminated {deep}"),
        ] {
            assert_eq!(too_deep(&src), None, "{}", &src[..20]);
        }
        // Past the comment's end they count again, from where they pass the limit.
        let src = format!("/**/ x = {deep};");
        assert_eq!(too_deep(&src), Some("/**/ x = ".len() + LIMIT + 1));
    }

    #[test]
    fn long_flat_code_is_not_deep() {
        let src = "f(a ? b : c, !d);\n".repeat(100_000);
        assert_eq!(too_deep(&src), None);
        let src = format!("x = [{}];", "a ? 1 : 2, ".repeat(100_000));
        assert_eq!(too_deep(&src), None);
        // Siblings in JSX close as they go.
        let src = format!(
            "x = <ul>{}</ul>;",
            "<li><b>a</b><br /></li>".repeat(100_000)
        );
        assert_eq!(too_deep(&src), None);
    }
}
