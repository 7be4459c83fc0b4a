#!/usr/bin/env bash
# convex-audit against the linters its users already run, side by side on the
# bench's synthetic corpora (see docs/performance.md).
#
#   CORPORA=DIR scripts/peers.sh      # from the repository root
#
# 1. Installs the peers, pinned as in ../shared/bench/BASELINE.md, into a fresh
#    `mktemp -d` folder: ESLint with @typescript-eslint/parser and the
#    recommended rules of @convex-dev/eslint-plugin, and oxlint with the
#    @trestleinc/convex-oxlint JS plugin. convex-doctor is the binary named by
#    DOCTOR, or else `cargo install convex-doctor` (crates.io has 0.2.0; the
#    baseline measured 0.3.1, built from its repository).
# 2. Runs `bench`, which alternates each peer with `check` on each corpus and
#    prints the median of the per-pair ratios peer / check and peak memory.
#
# Environment: SIZES (1000,10000), RUNS (floor and check pairs, 3), PEER_RUNS
# (pairs per peer, 3), PEERS ("eslint oxlint-convex convex-doctor"; also
# eslint-c2: ESLint --concurrency=2), DOCTOR, CORPORA (required: the bench's
# --corpora folder), GENERATOR (the bench's --generator, to make missing ones).
set -euo pipefail

SIZES="${SIZES:-1000,10000}"
RUNS="${RUNS:-3}"
PEER_RUNS="${PEER_RUNS:-3}"
PEERS="${PEERS:-eslint oxlint-convex convex-doctor}"

die() { echo "peers: $*" >&2; exit 1; }
[[ -n "${CORPORA:-}" ]] || die "set CORPORA=DIR, the bench's corpora folder (see docs/performance.md)"
for c in node npm cargo python3; do command -v "$c" >/dev/null || die "$c not found"; done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/convex-audit-peers.XXXXXX")"
echo "peers: installing into $WORK (remove it when done)" >&2
printf '{ "name": "convex-audit-peers", "private": true }\n' > "$WORK/package.json"
(cd "$WORK" && npm install --no-audit --no-fund --loglevel=error \
  eslint@10.15.0 @typescript-eslint/parser@8.73.0 typescript@6.0.3 \
  @convex-dev/eslint-plugin@5.0.0 convex@1.48.0 \
  oxlint@1.94.0 @trestleinc/convex-oxlint@0.2.0 >&2)

# The official plugin's recommended rules, without type information.
cat > "$WORK/eslint.config.mjs" <<'EOF'
import tsParser from "@typescript-eslint/parser";
import convexPlugin from "@convex-dev/eslint-plugin";

export default [
  { ignores: ["**/_generated/**", "**/node_modules/**"] },
  {
    files: ["**/*.ts", "**/*.tsx"],
    languageOptions: { parser: tsParser, ecmaVersion: "latest", sourceType: "module" },
  },
  ...convexPlugin.configs.recommended,
];
EOF
# oxlint's default native plugins plus the Convex JS plugin's rules.
cat > "$WORK/oxlintrc.convex.json" <<'EOF'
{
  "plugins": ["typescript", "unicorn", "oxc"],
  "jsPlugins": ["@trestleinc/convex-oxlint"],
  "rules": {
    "convex/no-old-registered-function-syntax": "error",
    "convex/require-args-validator": "error",
    "convex/explicit-table-ids": "error",
    "convex/import-wrong-runtime": "error"
  },
  "ignorePatterns": ["**/dist/**", "**/_generated/**", "**/*.d.ts", "**/node_modules/**"]
}
EOF

if [[ " $PEERS " == *" convex-doctor "* && -z "${DOCTOR:-}" ]]; then
  cargo install --quiet --locked convex-doctor --root "$WORK/doctor" >&2
  DOCTOR="$WORK/doctor/bin/convex-doctor"
fi

bin="$WORK/node_modules/.bin"
args=(--sizes "$SIZES" --runs "$RUNS" --peer-runs "$PEER_RUNS")
args+=(--corpora "$CORPORA")
[[ -n "${GENERATOR:-}" ]] && args+=(--generator "$GENERATOR")
for p in $PEERS; do
  case "$p" in
    eslint) cmd="env -C {dir} $bin/eslint --config $WORK/eslint.config.mjs ." ;;
    eslint-c2) cmd="env -C {dir} $bin/eslint --concurrency=2 --config $WORK/eslint.config.mjs ." ;;
    oxlint-convex) cmd="$bin/oxlint -c $WORK/oxlintrc.convex.json --ignore-pattern **/_generated/** {dir}" ;;
    convex-doctor) cmd="env -C {dir} $DOCTOR --format json" ;;
    *) die "unknown peer $p (known: eslint eslint-c2 oxlint-convex convex-doctor)" ;;
  esac
  args+=(--peer "$p=$cmd")
done

cargo build --release --quiet --example bench
exec target/release/examples/bench "${args[@]}"
