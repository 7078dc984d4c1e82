#!/bin/sh
# Run one shard of a campaign, or resume it when its directory already holds one (a rescheduled
# pod, a re-run CI job). Used by the worker image (docker/Dockerfile.worker), the Kubernetes
# Indexed Job (deploy/k8s/indexed-job.yaml) and the CI workflow (deploy/ci/nightly.yml).
#
#   VMAFUZZ_SEED    campaign seed, the same for every shard (required)
#   VMAFUZZ_SHARDS  number of shards M (required)
#   VMAFUZZ_SHARD   this shard i, 0 <= i < M (default: $JOB_COMPLETION_INDEX, set by Kubernetes)
#   VMAFUZZ_TIME    time budget of the shard (default 8h)
#   VMAFUZZ_OUT     parent of the shard directories (default /out); this shard writes $VMAFUZZ_OUT/shard-i
#   VMAFUZZ         the command (default: vmafuzz on PATH)
#   VMAFUZZ_TRIAGE  session options of both a first and a resumed run (default "--triage": new
#                   findings are triaged across kernels, docs/findings.md; "" turns it off)
# Further arguments go to `vmafuzz fuzz` (e.g. --runner qemu --kernel 6.12) on the first run; a
# resumed run takes them from the shard's campaign.json.
#
# Exit status: 0 when the shard ran (findings are results, not a failed job: read them with
# `vmafuzz report`), 2 bad usage, 125 cannot test.
set -eu
shard="${VMAFUZZ_SHARD:-${JOB_COMPLETION_INDEX:-}}"
: "${VMAFUZZ_SEED:?set VMAFUZZ_SEED}" "${VMAFUZZ_SHARDS:?set VMAFUZZ_SHARDS}"
[ -n "$shard" ] || { echo "vmafuzz-shard: set VMAFUZZ_SHARD or JOB_COMPLETION_INDEX" >&2; exit 2; }
dir="${VMAFUZZ_OUT:-/out}/shard-$shard"
cmd="${VMAFUZZ:-vmafuzz}"
code=0
if [ -f "$dir/campaign.json" ]; then
  # shellcheck disable=SC2086 # VMAFUZZ_TRIAGE is a list of options
  $cmd fuzz --resume "$dir" --progress lines ${VMAFUZZ_TRIAGE---triage} || code=$?
else
  # shellcheck disable=SC2086
  $cmd fuzz --seed "$VMAFUZZ_SEED" --shard "$shard/$VMAFUZZ_SHARDS" --time "${VMAFUZZ_TIME:-8h}" --out "$dir" --progress lines ${VMAFUZZ_TRIAGE---triage} "$@" || code=$?
fi
[ "$code" -eq 1 ] && code=0
exit "$code"
