//! Adversarial shapes of Convex code, each a family indexed by a size `k`:
//! code whose number of paths, bindings or helper calls grows exponentially
//! with `k` while the code grows linearly. The analysis must cost about the
//! same per line at every `k`. Used by `tests/shapes.rs` (no function overruns
//! its budget at k = 64) and `examples/shapes.rs` (time per k).

use std::fmt::Write;

/// A shape: the files (path under `convex/`, source) it makes at size `k`.
pub type Shape = fn(usize) -> Vec<(String, String)>;

/// Every shape, by name.
pub const SHAPES: &[(&str, Shape)] = &[
    ("sequential-ifs", |k| module(sequential_ifs(k))),
    ("switch-then-ifs", |k| module(switch_then_ifs(k))),
    ("nested-ifs", |k| module(nested_ifs(k))),
    ("nested-loops", |k| module(nested_loops(k))),
    ("helper-chain", |k| module(helper_chain(k))),
    ("helper-fanout", |k| module(helper_fanout(k))),
    ("name-chain", |k| module(name_chain(k))),
    ("condition-chain", |k| module(condition_chain(k))),
    ("env-chain", |k| module(env_chain(k))),
    ("error-chain", |k| module(error_chain(k))),
    ("env-rebound", |k| {
        module(rebound(k, "process.env.SHAPE_TOKEN"))
    }),
    ("error-rebound", |k| module(rebound(k, "err"))),
    ("credential-chain", credential_chain),
];

fn module(body: String) -> Vec<(String, String)> {
    vec![("shape.ts".into(), format!("{IMPORTS}{body}"))]
}

const IMPORTS: &str = "import { mutation, query, action } from \"./_generated/server\";\n\
import { v } from \"convex/values\";\n\n";

/// A mutation that authenticates, then builds a value with `helper` and
/// inserts it (the path through `helper` decides nothing, but is walked).
fn authed_caller(helper: &str) -> String {
    format!(
        "export const run = mutation({{\n  args: {{ x: v.any() }},\n  handler: async (ctx, args) => {{\n    \
         const identity = await ctx.auth.getUserIdentity();\n    if (!identity) throw new Error(\"no\");\n    \
         const value = {helper}(args.x);\n    await ctx.db.insert(\"things\", {{ owner: identity.subject, value }});\n  \
         }},\n}});\n"
    )
}

/// `if (x.pI) s = s.mI(x.pI)`, k times, on the same name.
fn sequential_ifs(k: usize) -> String {
    let mut s = String::from("const build = (x: any): any => {\n  let s: any = x.base;\n");
    for i in 0..k {
        let _ = writeln!(s, "  if (x.p{i} && s.ok{i}) s = s.m{i}(x.p{i});");
    }
    s.push_str("  return s;\n};\n\n");
    s + &authed_caller("build")
}

/// A switch of k cases assigning `s`, then k ifs reassigning it.
fn switch_then_ifs(k: usize) -> String {
    let mut s = String::from(
        "const build = (kind: string, x: any): any => {\n  let s: any;\n  switch (kind) {\n",
    );
    for i in 0..k {
        let _ = writeln!(s, "    case \"c{i}\": s = x.make{i}(); if (x.sub{i}) {{ s = s.refine(x.sub{i}); }} break;");
    }
    s.push_str("    default: s = x.plain();\n  }\n");
    for i in 0..k {
        let _ = writeln!(
            s,
            "  if (x.q{i} !== undefined && s.is{i}) s = s.n{i}(x.q{i});"
        );
    }
    s.push_str("  return s;\n};\n\nconst each = (x: any) => build(x.kind, x);\n\n");
    s + &authed_caller("each")
}

/// if/else nested k deep, each branch reassigning `s`.
fn nested_ifs(k: usize) -> String {
    nested(k, |i| {
        format!("if (x.p{i}) {{ s = s.a{i}(s); }} else {{ s = s.b{i}(s);")
    })
}

/// for-of loops nested k deep around a reassignment and a branch.
fn nested_loops(k: usize) -> String {
    nested(k, |i| {
        format!("for (const e{i} of x.l{i}) {{ if (e{i}.ok) s = s.with(e{i});")
    })
}

/// A pure helper of k blocks nested in one another, `open(i)` opening each.
fn nested(k: usize, open: impl Fn(usize) -> String) -> String {
    let mut s = String::from("const build = (x: any): any => {\n  let s: any = x.base;\n");
    for i in 0..k {
        let _ = writeln!(s, "{}{}", " ".repeat(i + 2), open(i));
    }
    for i in (0..k).rev() {
        let _ = writeln!(s, "{}}}", " ".repeat(i + 2));
    }
    s.push_str("  return s;\n};\n\n");
    s + &authed_caller("build")
}

/// h0 calls h1 twice (in two branches), h1 calls h2 twice, ...: 2^k call paths.
fn helper_chain(k: usize) -> String {
    let mut s = String::new();
    for i in (0..k).rev() {
        let next = if i + 1 < k {
            format!("h{}", i + 1)
        } else {
            "((y: any) => y)".into()
        };
        let _ = writeln!(
            s,
            "const h{i} = async (ctx: any, x: any): Promise<any> => {{\n  \
             if (x.p{i}) return {next}(ctx, x.a);\n  const r = await ctx.db.query(\"rows\").first();\n  \
             return {next}(ctx, r ?? x.b);\n}};"
        );
    }
    let _ = write!(
        s,
        "\nexport const run = query({{\n  args: {{ x: v.any() }},\n  handler: async (ctx, args) => {{\n    \
         const identity = await ctx.auth.getUserIdentity();\n    if (!identity) return null;\n    \
         return await h0(ctx, args.x);\n  }},\n}});\n"
    );
    s
}

/// h0 .. hk, each calling the next three: about 3^k call paths from h0, which
/// an ownership check asks about (does any helper check the caller's role?).
fn helper_fanout(k: usize) -> String {
    let mut s = String::new();
    for i in (0..k).rev() {
        let _ = write!(
            s,
            "const h{i} = async (ctx: any): Promise<void> => {{\n  if (ctx.f{i}) {{\n"
        );
        for j in i + 1..(i + 4).min(k) {
            let _ = writeln!(s, "    await h{j}(ctx);");
        }
        s.push_str("  }\n};\n");
    }
    let _ = write!(
        s,
        "\nexport const edit = mutation({{\n  args: {{ id: v.id(\"docs\") }},\n  handler: async (ctx, args) => {{\n    \
         const identity = await ctx.auth.getUserIdentity();\n    if (!identity) throw new Error(\"no\");\n    \
         const doc = await ctx.db.get(args.id);\n    {call}\n    await ctx.db.patch(args.id, {{ seen: doc?.seen }});\n  }},\n}});\n",
        call = if k > 0 { "await h0(ctx);" } else { "" }
    );
    s
}

/// n0 = identity; each nI bound twice (in two branches) from n(I-1): every
/// name has two bindings referring to the one before.
fn name_chain(k: usize) -> String {
    let mut s = String::from(
        "export const run = mutation({\n  args: { x: v.any() },\n  handler: async (ctx, args) => {\n    \
         const n0 = await ctx.auth.getUserIdentity();\n",
    );
    for i in 1..=k {
        let _ = writeln!(
            s,
            "    let n{i}: any;\n    if (args.x.p{i}) n{i} = n{p}; else n{i} = n{p} ?? args.x.d{i};",
            p = i - 1
        );
    }
    let _ = write!(
        s,
        "    if (!n{k}) throw new Error(\"no\");\n    await ctx.db.insert(\"things\", {{ v: args.x }});\n  }},\n}});\n"
    );
    s
}

/// One condition of k `&&`/`||` terms, each a name bound in a chain.
fn condition_chain(k: usize) -> String {
    let mut s = String::from(
        "export const run = mutation({\n  args: { x: v.any() },\n  handler: async (ctx, args) => {\n    \
         const c0 = await ctx.auth.getUserIdentity();\n",
    );
    for i in 1..=k {
        let _ = writeln!(s, "    const c{i} = c{p} && args.x.f{i};", p = i - 1);
    }
    s.push_str("    if (");
    for i in 0..=k {
        let op = if i == 0 {
            ""
        } else if i % 2 == 0 {
            " && "
        } else {
            " || "
        };
        let _ = write!(s, "{op}!c{i}");
    }
    s.push_str(") throw new Error(\"no\");\n    await ctx.db.insert(\"things\", { v: args.x });\n  },\n});\n");
    s
}

/// A secret passed through k names, each bound twice, then returned.
fn env_chain(k: usize) -> String {
    let mut s = String::from(
        "export const run = action({\n  args: { x: v.any() },\n  handler: async (ctx, args) => {\n    \
         let e0: any = args.x.seed;\n    if (args.x.use) e0 = process.env.SHAPE_TOKEN;\n",
    );
    for i in 1..=k {
        let _ = writeln!(
            s,
            "    let e{i}: any = e{p};\n    if (args.x.p{i}) e{i} = e{p} + args.x.s{i};",
            p = i - 1
        );
    }
    let _ = write!(s, "    return {{ value: e{k} }};\n  }},\n}});\n");
    s
}

/// A caught error passed through k names, each bound twice, then returned.
fn error_chain(k: usize) -> String {
    let mut s = String::from(
        "export const run = action({\n  args: { x: v.any() },\n  handler: async (ctx, args) => {\n    \
         let d0: any = args.x.seed;\n    try { await fetch(args.x.url); } catch (err) { d0 = err; }\n",
    );
    for i in 1..=k {
        let _ = writeln!(
            s,
            "    let d{i}: any = d{p};\n    if (args.x.p{i}) d{i} = d{p} + args.x.s{i};",
            p = i - 1
        );
    }
    let _ = write!(s, "    return {{ value: d{k} }};\n  }},\n}});\n");
    s
}

/// One name rebound k times from itself (`e = e + x`), after a binding to
/// `source` (an env var, or the caught error `err`), then returned.
fn rebound(k: usize, source: &str) -> String {
    let mut s = format!(
        "export const run = action({{\n  args: {{ x: v.any() }},\n  handler: async (ctx, args) => {{\n    \
         let e: any = args.x.seed;\n    try {{ await fetch(args.x.url); }} catch (err) {{ e = {source}; }}\n"
    );
    for i in 0..k {
        let _ = writeln!(s, "    if (args.x.p{i}) e = e + args.x.s{i};");
    }
    s.push_str("    return { value: e };\n  },\n});\n");
    s
}

/// An HTTP action that looks a row up by a credential header passed through
/// k names, each bound twice (and referring to each other).
fn credential_chain(k: usize) -> Vec<(String, String)> {
    let mut s = String::from(
        "import { httpRouter } from \"convex/server\";\nimport { httpAction } from \"./_generated/server\";\n\n\
         const hook = httpAction(async (ctx, req) => {\n    let t0: any = req.headers.get(\"Authorization\");\n",
    );
    for i in 1..=k {
        let _ = writeln!(
            s,
            "    let t{i}: any = t{p};\n    if (t{p}.length > {i}) t{i} = t{p}.slice(1) + t{i};",
            p = i - 1
        );
    }
    let _ = write!(
        s,
        "    const key = await ctx.runQuery(\"keys:byToken\" as any, {{ token: t{k} }});\n    \
         if (!key) return new Response(\"no\", {{ status: 401 }});\n    \
         await ctx.runMutation(\"keys:touch\" as any, {{ token: t{k} }});\n    return new Response(\"ok\");\n}});\n\n\
         const http = httpRouter();\nhttp.route({{ path: \"/hook\", method: \"POST\", handler: hook }});\nexport default http;\n"
    );
    vec![("http.ts".into(), s)]
}
