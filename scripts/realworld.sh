#!/usr/bin/env bash
# Runs convex-audit over the public Convex backends in realworld.txt and
# prints one line per finding (rule, function, file:line), so two runs can be
# diffed: `scripts/realworld.sh > after.txt; diff before.txt after.txt`.
#
# Repositories are cloned shallowly into $WORK (default: a temp dir), or read
# from $MIRROR/<owner>+<name> (a bare git directory) when that exists.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bin=${BIN:-$root/target/release/convex-audit}
[ -x "$bin" ] || cargo build --release --manifest-path "$root/Cargo.toml" >&2
WORK=${WORK:-$(mktemp -d)}
for repo in $(grep -v '^#' "$here/realworld.txt"); do
  dest="$WORK/${repo/\//+}"
  if [ ! -d "$dest" ]; then
    mirror="${MIRROR:-/nonexistent}/${repo/\//+}/repo"
    mkdir -p "$dest"
    if [ -d "$mirror" ]; then
      # Only the convex folders: a mirror may lack its largest blobs (images),
      # which would make a whole-tree archive fail.
      git --git-dir="$mirror" ls-tree -r -z --name-only HEAD |
        grep -z -E '(^|/)convex/' | xargs -0 -r git --git-dir="$mirror" archive HEAD -- 2>/dev/null |
        tar -x -C "$dest"
    else
      git clone -q --depth 1 "https://github.com/$repo" "$dest" >&2 || { echo "skip $repo" >&2; continue; }
    fi
  fi
  find "$dest" -type d -name convex -not -path '*/node_modules/*' -not -path '*/_generated/*' \
    -not -path '*/.*/*' | sort | while read -r dir; do
    [ -n "$(find "$dir" -maxdepth 1 -name '*.ts' -print -quit)" ] || continue
    "$bin" check "$dir" --format json | python3 "$here/findings_lines.py" "$repo" "$dir" "$WORK/" || true
  done
done
