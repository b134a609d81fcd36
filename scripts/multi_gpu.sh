#!/bin/bash
# Issue 21 item 3: the multi-GPU measurements, in ONE call of the device on nvidia-h200-x2
# (no install: the working tree on PYTHONPATH, the image's python3 and torch):
#   cp-bench   the context-parallel Hyena operator (d_model 768, order 2, bf16) at each L on P
#              GPUs against one GPU: its communication and compute apart, memory per rank, the
#              longest L that fits (hyena_lab/experiments/context_parallel.py);
#   ddp-bench  chapter 07's Hyena LM: tokens/s of training steps on 1 and P GPUs (DDP) and the
#              scaling efficiency.
# Run from the repository root:   bash scripts/multi_gpu.sh      ($OUT: where the records go)
# Writes 7 files (the device returns at most 8): $OUT/env.txt, $OUT/cp-bench.json and .log,
# and $OUT/ddp-bench-b<B>.json and .log for each per-rank batch B of BATCHES_PER_RANK (two by
# default). Each step has its own limit (CP_LIMIT, DDP_LIMIT seconds, together inside the call's
# 10 minutes); a step cut short keeps the record written so far (cp-bench writes it after every
# length). Every setting is an environment variable; DEVICE=cpu with tiny sizes runs the same
# path on CPUs (tests/test_context_parallel_bench.py does).
set -u
: "${OUT:?set OUT to the folder for the records}"
PY=${PYTHON:-python3}
P=${PROCS:-2}
DEVICE=${DEVICE:-cuda}
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} TQDM_DISABLE=1 PYTHONUNBUFFERED=1
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
# NVLink multicast stays off in NCCL, PyTorch and NVSHMEM: a program that uses it can put the
# host's GPUs, which others share, out of service (the device's KINDS.md)
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
mkdir -p "$OUT"
{
  date -u
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  nvidia-smi topo -m  # how the GPUs are linked (not yet recorded for this kind)
  "$PY" -c 'import torch; print("torch", torch.__version__, "gpus", torch.cuda.device_count())'
} >"$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

status=0
run() {  # run LIMIT FILE COMMAND ARGS...: a hyena-lab command on P processes under torchrun
  local limit=$1 file=$2 name=$3 start rc
  shift 3
  start=$(date +%s)
  timeout --kill-after=20 "$limit" "$PY" -m torch.distributed.run --standalone \
    --nproc-per-node "$P" -m hyena_lab.cli "$name" --device "$DEVICE" \
    --out "$OUT/$file.json" "$@" >"$OUT/$file.log" 2>&1
  rc=$?
  echo "$file: exit status $rc after $(($(date +%s) - start)) s"
  if [ "$rc" -ne 0 ]; then
    tail -n 25 "$OUT/$file.log"
    status=1
  else
    tail -n 1 "$OUT/$file.log"  # the command's JSON line
  fi
}

# shellcheck disable=SC2086  # the lists and extra options are meant to split into words
run "${CP_LIMIT:-300}" cp-bench cp-bench \
  --lengths ${LENGTHS:-65536 131072 262144 524288 1048576 2097152 4194304 8388608} \
  --d-model "${D_MODEL:-768}" --warmup "${WARMUP:-2}" --repeats "${REPEATS:-10}" \
  --timeout "${COLLECTIVE_TIMEOUT:-120}" ${CP_ARGS:-}
for B in ${BATCHES_PER_RANK:-2048 8192}; do  # windows of 64 characters per GPU and step
  # shellcheck disable=SC2086
  run "${DDP_LIMIT:-90}" "ddp-bench-b$B" ddp-bench --batch-per-rank "$B" \
    --warmup "${DDP_WARMUP:-5}" --repeats "${DDP_REPEATS:-30}" \
    --timeout "${COLLECTIVE_TIMEOUT:-120}" ${DDP_ARGS:-}
done
exit $status
