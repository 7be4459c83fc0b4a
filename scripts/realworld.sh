#!/usr/bin/env bash
# Runs convex-audit over the public Convex backends in a list (default
# realworld.txt; `scripts/realworld.sh scripts/labelled.txt` for the labelled
# set), each at its pinned commit, and prints one line per finding (rule, function,
# file:line), so two runs can be diffed:
# `scripts/realworld.sh > after.txt; diff before.txt after.txt`.
#
# Repositories are fetched into $WORK (default: a temp dir), or read from
# $MIRROR/<owner>+<name>/repo (a bare git directory) when that exists. A
# repository whose pinned commit cannot be had is reported and skipped.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bin=${BIN:-$root/target/release/convex-audit}
[ -x "$bin" ] || cargo build --release --manifest-path "$root/Cargo.toml" >&2
WORK=${WORK:-$(mktemp -d)}
list=${1:-$here/realworld.txt}
grep -v '^#' "$list" | while read -r repo commit; do
  [ -n "$repo" ] || continue
  dest="$WORK/${repo/\//+}"
  if [ ! -d "$dest" ]; then
    mirror="${MIRROR:-/nonexistent}/${repo/\//+}/repo"
    mkdir -p "$dest"
    if [ -d "$mirror" ] && git --git-dir="$mirror" cat-file -e "$commit^{commit}" 2>/dev/null; then
      git_dir=$mirror
    else
      # A shallow fetch of the pinned commit alone.
      git_dir="$dest.git"
      git init -q --bare "$git_dir"
      if ! git --git-dir="$git_dir" fetch -q --depth 1 "https://github.com/$repo" "$commit" >&2; then
        echo "skip $repo: commit $commit not fetched" >&2
        continue
      fi
    fi
    # Only the convex folders: a mirror may lack its largest blobs (images),
    # which would make a whole-tree archive fail.
    git --git-dir="$git_dir" ls-tree -r -z --name-only "$commit" |
      grep -z -E '(^|/)convex/' | xargs -0 -r git --git-dir="$git_dir" archive "$commit" -- 2>/dev/null |
      tar -x -C "$dest"
  fi
  find "$dest" -type d -name convex -not -path '*/node_modules/*' -not -path '*/_generated/*' \
    -not -path '*/.*/*' | sort | while read -r dir; do
    [ -n "$(find "$dir" -maxdepth 1 -name '*.ts' -print -quit)" ] || continue
    "$bin" check "$dir" --format json | python3 "$here/findings_lines.py" "$repo" "$dir" "$WORK/" || true
  done
done
