#!/usr/bin/env bash
# The first run on a lent GPU, in one command of at most --limit seconds (default 570, under a 10-minute lease):
#   1. versions: nvidia-smi, torch and its CUDA, what the device is (or why there is none)
#   2. the device-dependent tests (pytest -m "cpu_exact or cuda")
#   3. seconds per step and peak memory of the slowest sweeps, LR1 and the narrowest, with the cost model's
#      prediction beside each (scripts/gpu_probe.py probe), and the predicted time per chapter (predict)
#   4. python -m monosem bench --device DEVICE, and --sparse (the decoder's step dense and sparse, at small k)
#   5. python -m monosem train --budget on what fits: `long` first, then `paper` chapters 1-2 (--train)
#   6. python -m monosem export of every chapter whose sweeps are all trained, into OUT/export
# Every step runs under `timeout` (Ctrl-C first, so that training stops cleanly, then a kill) and within what is
# left of the limit, so that one failure cannot eat the lease; OUT/summary.md says which steps ran, how they ended
# and how long they took, and is rewritten after every step (a killed run still leaves one).
#
#   scripts/gpu_first_run.sh [--out DIR] [--device cuda|cpu] [--profile P] [--train "long paper:1,2"]
#                            [--minutes M] [--limit S] [--cache DIR] [--tests "PYTEST ARGS"]
# OUT defaults to $OUT (a lease's output folder) or ./gpu_first_run; the cache (full results, too big to bring
# back) to ./.gpu_cache. --profile sets the profile of the probe and the bench (default paper) and, without
# --train, trains P's chapters 1-2. On a CPU, at ci: --device cpu --profile ci --minutes 1 (tests/test_gpu_script.py).
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT_DIR=${OUT:-$ROOT/gpu_first_run}
DEVICE=cuda
PROFILE=""
TRAIN=""
MINUTES=3
LIMIT=570
CACHE=$ROOT/.gpu_cache
TESTS='-m "cpu_exact or cuda" tests'
PY=${PYTHON:-python}

while [ $# -gt 0 ]; do
    case $1 in
        --out) OUT_DIR=$2; shift 2 ;;
        --device) DEVICE=$2; shift 2 ;;
        --profile) PROFILE=$2; shift 2 ;;
        --train) TRAIN=$2; shift 2 ;;
        --minutes) MINUTES=$2; shift 2 ;;
        --limit) LIMIT=$2; shift 2 ;;
        --cache) CACHE=$2; shift 2 ;;
        --tests) TESTS=$2; shift 2 ;;
        *) echo "unknown argument: $1 (see the head of $0)" >&2; exit 2 ;;
    esac
done
case $DEVICE in cuda|cpu) ;; *) echo "--device must be cuda or cpu, got $DEVICE" >&2; exit 2 ;; esac
if [ -z "$TRAIN" ]; then
    if [ -n "$PROFILE" ]; then TRAIN="$PROFILE:1,2"; else TRAIN="long paper:1,2"; fi
fi
PROFILE=${PROFILE:-paper}
if [ "$DEVICE" = cpu ]; then
    export CUDA_VISIBLE_DEVICES=""  # every step on the CPU, on a machine with a GPU too
    ALLOW_CPU=--allow-cpu
else
    ALLOW_CPU=""
fi

mkdir -p "$OUT_DIR/logs" "$CACHE" || exit 1
OUT_DIR=$(cd "$OUT_DIR" && pwd)
CACHE=$(cd "$CACHE" && pwd)
export MONOSEM_RESULTS=$CACHE PYTHONUNBUFFERED=1 PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
cd "$ROOT" || exit 1
SUMMARY=$OUT_DIR/summary.md
ROWS=""
RESERVE=20  # seconds kept for the summary at the end

write_summary() {
    {
        echo "# First GPU run, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
        echo
        echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), device $DEVICE, profile $PROFILE,"
        echo "train \"$TRAIN\" within $MINUTES min, limit $LIMIT s, cache $CACHE; ${SECONDS} s so far"
        echo
        echo "| step | status | seconds | log |"
        echo "|---|---|---|---|"
        printf "%b" "$ROWS"
        for extra in "$@"; do echo; cat "$extra"; done
    } > "$SUMMARY"
}

left() { echo $((LIMIT - RESERVE - SECONDS)); }

# step NAME SECONDS COMMAND...: run COMMAND under timeout (at most what is left of the limit), log it, record it
step() {
    local name=$1 want=$2; shift 2
    local budget; budget=$(left)
    [ "$want" -lt "$budget" ] && budget=$want
    local log=$OUT_DIR/logs/$name.log status start=$SECONDS rc
    if [ "$budget" -lt 5 ]; then
        ROWS+="| $name | skipped: no time left | 0 | |\n"
        write_summary
        return 0
    fi
    echo "== $name (at most ${budget} s): $*"
    timeout -s INT -k 15 "$budget" "$@" > "$log" 2>&1
    rc=$?
    case $rc in
        0) status=ok ;;
        3) status="stopped by its budget, work left (exit 3)" ;;
        124|137) status="timed out after ${budget} s" ;;
        130) status="interrupted by the timeout after ${budget} s (exit 130)" ;;
        *) status="failed (exit $rc)" ;;
    esac
    ROWS+="| $name | $status | $((SECONDS - start)) | logs/$name.log |\n"
    tail -n 3 "$log"
    write_summary
    return 0
}

versions() {
    if command -v nvidia-smi > /dev/null; then nvidia-smi; else echo "nvidia-smi: not found"; fi
    "$PY" - <<'EOF'
import platform, torch
from monosem.device import no_cuda_reason
print("python", platform.python_version(), "torch", torch.__version__, "built for CUDA", torch.version.cuda)
print("cudnn", torch.backends.cudnn.version(), "cuda available", torch.cuda.is_available())
if torch.cuda.is_available():
    p = torch.cuda.get_device_properties(0)
    print("device", p.name, f"{p.total_memory / 2**30:.1f} GiB", "capability", f"{p.major}.{p.minor}")
else:
    print("no CUDA:", no_cuda_reason())
EOF
}

# export every chapter of PROFILE (all, or the comma-separated numbers) whose sweeps are all in the cache
export_chapters() {
    local profile=$1 chapters=$2 c
    if [ -z "$chapters" ]; then
        chapters=$("$PY" -m monosem list | awk '/^chapters:/{on=1; next} /^[a-z]/{on=0} on{print $1}' | tr '\n' ',')
    fi
    for c in ${chapters//,/ }; do
        if "$PY" -m monosem export --to "$OUT_DIR/export" --profile "$profile" --chapter "$c"; then
            echo "exported $profile chapter $c"
        else
            echo "not exported: $profile chapter $c (not all trained)"
        fi
    done
    du -sh "$OUT_DIR/export" 2> /dev/null || true
}

export -f versions export_chapters
export PY OUT_DIR
step versions 60 bash -c versions
# shellcheck disable=SC2086  # TESTS is a list of pytest arguments
eval "set -- $TESTS"
step tests 150 "$PY" -m pytest -q -p no:cacheprovider "$@"
step probe 120 "$PY" scripts/gpu_probe.py probe --profile "$PROFILE" --device "$DEVICE" --json "$OUT_DIR/probe.json"
step predict 30 "$PY" scripts/gpu_probe.py predict --profile paper --machine h100
step bench 90 "$PY" -m monosem bench --device "$DEVICE" --profile "$PROFILE" --steps 50 --repeats 2
step bench-sparse 60 "$PY" -m monosem bench --device "$DEVICE" --profile "$PROFILE" --sparse --steps 5 --repeats 2

TRAIN_END=$((SECONDS + MINUTES * 60))
set -- $TRAIN
n_left=$#
for spec in "$@"; do
    profile=${spec%%:*}
    chapters=""; [ "$spec" != "$profile" ] && chapters=${spec#*:}
    args=(--profile "$profile")
    for c in ${chapters//,/ }; do args+=(--chapter "$c"); done
    [ "$profile" = paper ] && [ -n "$ALLOW_CPU" ] && args+=("$ALLOW_CPU")
    # what is left of the training minutes, shared among the profiles still to train; the hard limit 30 s beyond
    share=$(((TRAIN_END - SECONDS) / n_left))
    n_left=$((n_left - 1))
    if [ "$share" -lt 10 ]; then
        ROWS+="| train $spec | skipped: the training minutes are spent | 0 | |\n"
        continue
    fi
    minutes=$(awk -v s="$share" 'BEGIN { printf "%.2f", s / 60 }')
    step "train-${spec//[:,]/_}" $((share + 30)) "$PY" -m monosem train "${args[@]}" --budget "$minutes"
    step "export-${spec//[:,]/_}" 120 bash -c 'export_chapters "$@"' _ "$profile" "$chapters"
done

"$PY" - "$OUT_DIR" > "$OUT_DIR/probe.md" 2> /dev/null <<'EOF' || true
import json, sys
rows = json.load(open(sys.argv[1] + "/probe.json"))
keys = list(dict.fromkeys(k for r in rows for k in r))
print("## Probe: seconds per step and peak memory\n")
print("| " + " | ".join(keys) + " |\n|" + "---|" * len(keys))
for r in rows:
    print("| " + " | ".join(f"{r[k]:.4g}" if isinstance(r.get(k), float) else str(r.get(k, "")) for k in keys) + " |")
EOF
{
    echo "## Bench"
    echo
    grep -E "^(LR1 sweep|\(a\)|\(b\)|speed-up|matmul peak)" "$OUT_DIR/logs/bench.log" 2> /dev/null | sed 's/^/    /'
    grep -E "as fast|no sweep" "$OUT_DIR/logs/bench-sparse.log" 2> /dev/null | sed 's/^/    /'
    echo
    echo "## Training"
    echo
    cat "$OUT_DIR"/logs/train-*.log 2> /dev/null | grep -vE "it/s\]|s/it\]" | tail -n 20 | sed 's/^/    /'
    echo
    echo "## Export: $OUT_DIR/export"
    echo
    grep -hE "^(exported|not exported)" "$OUT_DIR"/logs/export-*.log 2> /dev/null | sed 's/^/    /'
} > "$OUT_DIR/details.md"
EXTRA=("$OUT_DIR/details.md")
[ -s "$OUT_DIR/probe.md" ] && EXTRA=("$OUT_DIR/probe.md" "${EXTRA[@]}")
write_summary "${EXTRA[@]}"
echo "summary: $SUMMARY (${SECONDS} s)"
