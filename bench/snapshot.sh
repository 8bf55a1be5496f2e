# Sourced by the bench scripts. With REV set (a git revision, e.g. REV=HEAD), benchmark a
# clean `git archive` of that revision instead of the working tree (which other people may
# be editing): it is unpacked under $1 and put first on PYTHONPATH, ahead of the editable
# install. Without REV the working tree is used.
use_snapshot() { # $1 = directory to unpack into
  [[ -n "${REV:-}" ]] || { BENCH_SRC="working tree"; return 0; }
  local repo; repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  mkdir -p "$1"
  git -C "$repo" archive "$REV" | tar -x -C "$1"
  export PYTHONPATH="$1${PYTHONPATH:+:$PYTHONPATH}"
  BENCH_SRC="git $REV ($(git -C "$repo" rev-parse --short "$REV"))"
}
