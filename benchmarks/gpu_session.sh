#!/usr/bin/env bash
# One GPU session, start to finish, in one command (device time is scarce: one start, one script).
#
#     bash benchmarks/gpu_session.sh OUT_DIR [END_SECONDS] [PROFILE] [DEVICE]
#
# 1. benchmark the gpu ladder (our loop vs transformers.Trainer vs a naive loop, MFU against the
#    measured bf16 matmul peak, one process vs several sharing the GPU) -> OUT_DIR/speed_gpu.json, and
#    batched training (K same-shape runs as one stacked model, scalinglaws.batched) against the
#    8-process layout -> OUT_DIR/batched_gpu.json;
# 2. the fp32-vs-bf16 check against seed-to-seed noise (3 sizes x 3 seeds) -> OUT_DIR/numerics_gpu.json;
# 3. train every run the notebooks need (`scalinglaws study --train-only`, same-shape runs stacked
#    GROUP at a time), stopped at END_SECONDS after the start so the results always come back ->
#    OUT_DIR/runs_gpu.tgz (the small files of DONE runs, sidecars included; unfinished runs are left out).
# Resumable across device windows: unpack runs_gpu.tgz into runs/ and commit it (the small files), and
# the next window's copy of the working tree holds those DONE runs, which content addressing skips; steps
# 1-2 are skipped when their results are already committed in benchmarks/results/ (BENCH=1 forces them).
# The notebooks are then executed on any machine against the returned store (SCALINGLAWS_NO_TRAIN=1).
# Needs torch, transformers, tokenizers, scipy, pandas on the GPU machine and either the token cache
# packed as .gpu/tokens.tar.xz (no `datasets` needed) or the corpus. PROFILE/DEVICE let this script be
# rehearsed on a CPU at the smoke profile.
set -u
OUT=${1:?usage: gpu_session.sh OUT_DIR [END_SECONDS] [PROFILE] [DEVICE]}
END_S=${2:-555}
PROFILE=${3:-gpu}
DEVICE=${4:-cuda}
T_START=$(date +%s)
mkdir -p "$OUT"
export PYTHONPATH=$PWD/lib${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export SCALINGLAWS_CACHE=${SCALINGLAWS_CACHE:-/tmp/scalinglaws_cache}
PY=${PYTHON:-python3}
if [ -f .gpu/tokens.tar.xz ]; then  # Python's lzma: no xz binary needed there
  $PY -c "import sys, tarfile; tarfile.open('.gpu/tokens.tar.xz').extractall(sys.argv[1])" "$SCALINGLAWS_CACHE/tokens" || exit 3
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm --format=csv
$PY -c "import torch, transformers, tokenizers, scipy, pandas; print('torch', torch.__version__, 'transformers', transformers.__version__, 'cuda', torch.cuda.is_available())" || exit 3
echo "== setup $(( $(date +%s) - T_START )) s"

BENCH=${BENCH:-auto}
if [ "$BENCH" = auto ]; then
  BENCH=1; [ -f "benchmarks/results/batched_$PROFILE.json" ] && [ -f "benchmarks/results/numerics_$PROFILE.json" ] && BENCH=0
fi
echo "== already DONE in runs/$PROFILE: $(ls runs/$PROFILE/*/DONE 2>/dev/null | wc -l) runs; benchmarks: $([ $BENCH = 1 ] && echo run || echo skipped, committed)"
if [ "$BENCH" = 1 ]; then
# --compile: also times RunSpec.compile (torch.compile of the block stack), unmeasured on a GPU so far
timeout -k 5 180 $PY benchmarks/bench_speed.py --profile "$PROFILE" --device "$DEVICE" --sizes ends --seconds 3 --repeats 1 \
  --compile --out "$OUT/speed_$PROFILE.json" > "$OUT/bench_log.txt" 2>&1
echo "bench rc=$?"; grep -E "^(matmul|L[0-9]|layout)" "$OUT/bench_log.txt"
pkill -9 -f multiprocessing.spawn 2>/dev/null
echo "== bench done $(( $(date +%s) - T_START )) s"

timeout -k 5 120 $PY benchmarks/bench_batched.py --profile "$PROFILE" --device "$DEVICE" --sizes all --ks 8,32 \
  --seconds 2 --repeats 1 --out "$OUT/batched_$PROFILE.json" > "$OUT/batched_log.txt" 2>&1
echo "batched rc=$?"; grep -E "^N=" "$OUT/batched_log.txt"
pkill -9 -f multiprocessing.spawn 2>/dev/null
echo "== batched bench done $(( $(date +%s) - T_START )) s"

timeout -k 5 100 $PY benchmarks/check_numerics.py --profile "$PROFILE" --device "$DEVICE" \
  --tokens ${NUMERICS_TOKENS:-4e6} --runs-dir /tmp/numerics_runs --out "$OUT/numerics_$PROFILE.json" > "$OUT/numerics_log.txt" 2>&1
echo "numerics rc=$?"; grep -E "^N=" "$OUT/numerics_log.txt"
pkill -9 -f multiprocessing.spawn 2>/dev/null
echo "== numerics done $(( $(date +%s) - T_START )) s"
fi

T0=$(date +%s)
STUDY_S=$(( END_S - (T0 - T_START) ))
timeout -k 5 "$STUDY_S" $PY -m scalinglaws.cli study --profile "$PROFILE" --device "$DEVICE" --train-only \
  --runs-dir "runs/$PROFILE" ${GROUP:+--group "$GROUP"} > "$OUT/train_log.txt" 2>&1
echo "train rc=$? in $(( $(date +%s) - T0 )) s (limit ${STUDY_S} s)"
pkill -9 -f multiprocessing.spawn 2>/dev/null
grep -E "^\[ensure_runs\] [0-9]+ runs|FAILED|diverged:|^\[study|Error|error" "$OUT/train_log.txt" | tail -40
$PY - "$PROFILE" "$OUT" <<'PYEOF'
import sys, tarfile
from pathlib import Path
profile, out = sys.argv[1], Path(sys.argv[2])
runs = Path("runs") / profile
done = sorted(p.parent for p in runs.glob("*/DONE"))  # DONE is written last: these folders are complete
started = len(list(runs.glob("*/config.json")))
with tarfile.open(out / f"runs_{profile}.tgz", "w:gz") as tar:
    for rd in done:
        for name in ("config.json", "metrics.jsonl", "summary.json", "evals.jsonl", "positions.json", "evals.json", "checksums.json", "DONE"):
            if (rd / name).is_file():  # the sidecars exist for runs that evaluated extra sets
                tar.add(rd / name, arcname=f"{profile}/{rd.name}/{name}")
print(f"packed {len(done)} DONE runs of {started} started into {out}/runs_{profile}.tgz")
PYEOF
echo "== all done $(( $(date +%s) - T_START )) s"
