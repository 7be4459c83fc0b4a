use super::lower_module;
use crate::model::facts::FileFacts;

const SMALL: &str = r#"
import { query } from "./_generated/server";
export const get = query({
  args: {},
  handler: async (ctx, { id }) => {
const me = await ctx.auth.getUserIdentity();
if (!me) throw new Error("signed out");
return await ctx.db.get(id);
  },
});
"#;

const LARGER: &str = r#"
import { mutation, internalQuery } from "./_generated/server";
import { requireUser } from "./lib/auth";
async function owned(ctx, id) {
  const user = await requireUser(ctx);
  const doc = await ctx.db.get(id);
  if (!doc || doc.ownerId !== user._id) throw new Error("not yours");
  return doc;
}
export const rename = mutation({
  args: {},
  handler: async (ctx, { id, title }) => {
const doc = await owned(ctx, id);
const rows = await ctx.db.query("items").withIndex("by_owner", (q) => q.eq("ownerId", doc.ownerId)).take(10);
for (const row of rows) {
  if (row.title === title) return null;
}
try {
  await ctx.db.patch(id, { title: title.trim(), at: Date.now() });
} catch (err) {
  console.error(err, process.env.SECRET_KEY);
}
return rows.map((r) => r.title).filter((t) => t.length > 0);
  },
});
export const list = internalQuery({
  args: {},
  handler: async (ctx) => ctx.db.query("items").collect(),
});
"#;

/// Modules lowered on one thread hold one copy of each long name, in
/// their facts and in their bodies' tables, not each its parser's.
#[test]
fn modules_share_their_long_names() -> Result<(), String> {
    const SRC: &str = r#"
import { internalMutation } from "./_generated/server";
export const recordConversation = internalMutation({
  args: { conversationIdentifier: v.id("conversations") },
  handler: async (ctx) => {
const conversationIdentifier = 1;
return conversationIdentifier;
  },
});
"#;
    let lowered = (0..2)
        .map(|_| {
            let parsed = crate::parse::parse(SRC, false).map_err(|e| e.message)?;
            Ok(lower_module(&parsed.module))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let [a, b] = lowered.as_slice() else {
        return Err("two modules".into());
    };
    fn at(n: Option<&swc_atoms::Atom>) -> Option<*const u8> {
        n.map(|n| n.as_str().as_ptr())
    }
    let import = |f: &FileFacts| at(f.imports.first().map(|i| &i.source));
    let builder = |f: &FileFacts| at(f.registrations.first().map(|r| &r.builder));
    let export = |f: &FileFacts| at(f.exports.first().map(|e| &e.0));
    let arg = |f: &FileFacts| {
        let args = f.registrations.first().and_then(|r| r.args.as_ref());
        at(args
            .map(|a| f.args.get(a))
            .and_then(|a| a.validators.first())
            .map(|v| &v.0))
    };
    let local = |f: &FileFacts| {
        let body = f.bodies.get(0);
        at(body
            .as_ref()
            .and_then(|b| b.bindings.first())
            .map(|(n, _)| n))
    };
    for (what, of) in [
        (
            "import source",
            import as fn(&FileFacts) -> Option<*const u8>,
        ),
        ("builder", builder),
        ("export", export),
        ("argument", arg),
        ("body binding", local),
    ] {
        assert!(of(a).is_some(), "{what}");
        assert_eq!(of(a), of(b), "{what}");
    }
    Ok(())
}

/// Every body of every fixture decodes to what lowering built.
#[test]
fn packed_bodies_decode_to_what_was_lowered() {
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures")) {
        let Ok(entry) = entry else { continue };
        let path = entry.path();
        if path
            .extension()
            .is_some_and(|e| e == "ts" || e == "tsx" || e == "js")
        {
            files.push(path.to_path_buf());
        }
    }
    files.sort();
    let mut bodies = 0;
    for path in &files {
        let src = std::fs::read_to_string(path).unwrap_or_default();
        let tsx = path.extension().is_some_and(|e| e == "tsx");
        let Ok(parsed) = crate::parse::parse(&src, tsx) else {
            continue;
        };
        let (facts, lowered) = super::lower(&parsed.module);
        assert_eq!(facts.bodies.len(), lowered.len(), "{}", path.display());
        for (ix, body) in lowered.iter().enumerate() {
            let decoded = facts.bodies.get(ix as u32);
            assert_eq!(
                format!("{:?}", decoded),
                format!("{:?}", Some(body)),
                "{} body {ix}",
                path.display()
            );
        }
        bodies += lowered.len();
    }
    assert!(
        files.len() > 100 && bodies > 200,
        "{} files, {bodies} bodies",
        files.len()
    );
}

/// The module's facts, printed (empty if the fixture does not parse).
fn lowered(src: &str) -> String {
    crate::parse::parse(src, false)
        .map(|parsed| format!("{:?}", lower_module(&parsed.module)))
        .unwrap_or_default()
}

/// A module's facts do not depend on what its thread lowered before: the
/// pools and fact lists lent from module to module carry nothing over.
#[test]
fn lent_pools_carry_nothing_between_modules() {
    // Each on a thread of its own, whose pools start empty.
    let fresh = |src: &'static str| {
        std::thread::spawn(move || lowered(src))
            .join()
            .unwrap_or_default()
    };
    let (small, larger) = (fresh(SMALL), fresh(LARGER));
    assert!(!small.is_empty() && !larger.is_empty());
    assert_eq!(lowered(LARGER), larger);
    assert_eq!(lowered(SMALL), small);
    assert_eq!(lowered(LARGER), larger);
    assert_eq!(lowered(SMALL), small);
}
