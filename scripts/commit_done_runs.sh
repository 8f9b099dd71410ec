#!/usr/bin/env bash
# Commit the run folders of a store that are finished (DONE), and only those, so a long study that a session's
# end interrupts goes on from where it stopped on the next machine (docs/reproducibility.md, "Long studies").
#     bash scripts/commit_done_runs.sh runs/cpu "message"
# Unfinished runs are left out (a run without DONE is never read as finished); checkpoints, weights and locks
# are ignored by .gitignore.
set -eu
STORE=${1:?usage: commit_done_runs.sh STORE [MESSAGE]}
MSG=${2:-"$STORE: finished runs"}
n=0
for d in "$STORE"/*/; do
  [ -f "$d/DONE" ] || continue
  if [ -n "$(git status --porcelain -- "$d")" ]; then git add -- "$d"; n=$((n + 1)); fi
done
[ -f "$STORE/data_stats.json" ] && git add -- "$STORE/data_stats.json"
if [ "$n" -gt 0 ]; then git commit -q -m "$MSG ($n run folders)" && echo "committed $n finished run folder(s) of $STORE"; else echo "nothing new finished in $STORE"; fi
