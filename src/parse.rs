//! The one SWC parse of a file.

use swc_common::comments::SingleThreadedComments;
use swc_common::{BytePos, Spanned};
use swc_ecma_ast::{EsVersion, Module};
use swc_ecma_parser::{lexer::Lexer, Parser, StringInput, Syntax, TsSyntax};

/// Why a file could not be parsed (the message is complete: "syntax error:
/// ..."), at a byte offset into the file.
#[derive(Debug, Clone)]
pub struct SyntaxError {
    pub message: String,
    pub offset: u32,
}

/// A parsed module and its suppression comments: (byte range, text).
pub struct Parsed {
    pub module: Module,
    pub directives: Vec<((u32, u32), String)>,
}

/// Parses TypeScript (TSX syntax when `tsx`). A file with any syntax error,
/// even one the parser recovered from, is not analysed: its facts could be wrong.
pub fn parse(src: &str, tsx: bool) -> Result<Parsed, SyntaxError> {
    let Ok(len) = u32::try_from(src.len()) else {
        return Err(SyntaxError {
            message: "file is larger than 4 GiB".into(),
            offset: 0,
        });
    };
    if let Some(at) = crate::nesting::too_deep(src) {
        return Err(SyntaxError {
            message: format!(
                "nested more than {} levels deep: not analysed",
                crate::nesting::LIMIT
            ),
            offset: u32::try_from(at).unwrap_or(0),
        });
    }
    let syntax = Syntax::Typescript(TsSyntax {
        tsx,
        decorators: true,
        ..Default::default()
    });
    // swc positions start at 1: 0 is its "dummy" position.
    let input = StringInput::new(src, BytePos(1), BytePos(1 + len));
    let comments = SingleThreadedComments::default();
    // Only suppression comments are kept: a file that never mentions the
    // prefix has none, and swc need not record its other comments.
    let wants_comments =
        memchr::memmem::find(src.as_bytes(), crate::suppress::PREFIX.as_bytes()).is_some();
    let lexer = Lexer::new(
        syntax,
        EsVersion::latest(),
        input,
        wants_comments.then_some(&comments),
    );
    let mut parser = Parser::new_from(lexer);
    let module = parser.parse_module();
    let recovered = parser.take_errors();
    drop(parser);
    let err = match module {
        Err(e) => Some(e),
        Ok(_) if !recovered.is_empty() => recovered.into_iter().next(),
        Ok(module) => {
            return Ok(Parsed {
                module,
                directives: our_comments(comments),
            })
        }
    };
    let Some(err) = err else {
        return Err(SyntaxError {
            message: "syntax error".into(),
            offset: 0,
        });
    };
    Err(SyntaxError {
        message: format!("syntax error: {}", err.kind().msg()),
        offset: err.span().lo.0.saturating_sub(1),
    })
}

/// Comments that start with our prefix, sorted by position (0-based offsets).
fn our_comments(comments: SingleThreadedComments) -> Vec<((u32, u32), String)> {
    let (leading, trailing) = comments.take_all();
    let mut out = Vec::new();
    for map in [leading, trailing] {
        for list in map.borrow().values() {
            for c in list {
                if c.text.trim_start().starts_with(crate::suppress::PREFIX) {
                    let lo = c.span.lo.0.saturating_sub(1);
                    let hi = c.span.hi.0.saturating_sub(1);
                    out.push(((lo, hi), c.text.to_string()));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Line starts of a text, to place many offsets in it without rescanning.
pub struct Lines(Vec<usize>);

impl Lines {
    pub fn new(src: &str) -> Lines {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', src.as_bytes()).map(|i| i + 1));
        Lines(starts)
    }

    /// As [`line_col`], in O(log lines + line length).
    pub fn line_col(&self, src: &str, offset: u32) -> (usize, usize) {
        let offset = (offset as usize).min(src.len());
        let line = self.0.partition_point(|&s| s <= offset).max(1);
        let start = self.0.get(line - 1).copied().unwrap_or(0);
        let col = src
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count())
            + 1;
        (line, col)
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(src: &str, offset: u32) -> (usize, usize) {
    let offset = (offset as usize).min(src.len());
    let before = src.as_bytes().get(..offset).unwrap_or_default();
    let line = 1 + memchr::memchr_iter(b'\n', before).count();
    let line_start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
    let col = src
        .get(line_start..offset)
        .map_or(offset - line_start, |s| s.chars().count())
        + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_is_one_based() {
        let src = "ab\ncdé\nf";
        assert_eq!(line_col(src, 0), (1, 1));
        assert_eq!(line_col(src, 3), (2, 1));
        assert_eq!(line_col(src, 7), (2, 4));
        assert_eq!(line_col(src, 8), (3, 1));
        assert_eq!(line_col(src, 999), (3, 2));
        let lines = Lines::new(src);
        for off in [0, 1, 2, 3, 5, 7, 8, 9, 999] {
            assert_eq!(lines.line_col(src, off), line_col(src, off), "{off}");
        }
    }

    #[test]
    fn syntax_error_has_position() {
        let err = parse("const a = ;\n", false).err();
        assert!(err.is_some_and(|e| e.offset == 10));
    }
}
