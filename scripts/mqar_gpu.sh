#!/bin/bash
# Chapter 08's GPU grid, one length at a time so that a timeout keeps the finished lengths.
# Runs on the lent H200 over a copy of the working tree (no install: PYTHONPATH).
# Every setting is an environment variable (defaults: the first, budget-limited grid of
# figures/data/08_mqar-gpu_grid.json); JOBS processes share the GPU (6 gave 11-34 steps/s per
# run on an H200, 16 gave 1.2-24); ZERO_FILL=1 puts id 0 between the queries and MLP_RATIO=0
# leaves the MLP out of every block (both as in Zoology's Figure 2).
set -u
FILL=$([ "${ZERO_FILL:-0}" = 1 ] && echo --no-random-non-queries || echo --random-non-queries)
export PYTHONPATH=$PWD TQDM_DISABLE=1 PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
for LP in ${SETTINGS:-64:4 128:8 256:16 512:32}; do
  LP=${LP/:/ }
  set -- $LP
  start=$(date +%s)
  python -m hyena_lab.cli mqar-grid --device cuda --mixers ${MIXERS:-attention hyena} \
    --widths ${WIDTHS:-32 64 128 256} --seq-lens $1 --pairs $2 --lrs ${LRS:-1e-3 4e-3} \
    --vocab-size ${VOCAB:-512} $FILL --mlp-ratio ${MLP_RATIO:-4} --num-train ${NUM_TRAIN:-20000} --num-test ${NUM_TEST:-1000} \
    --max-steps ${STEPS:-1200} --batch-size ${BATCH:-256} --time-budget ${RUN_BUDGET:-110} \
    --jobs ${JOBS:-16} --threads 1 --out $OUT/mqar${TAG:-}-L$1.json 2>&1 | tail -1
  echo "L=$1 took $(( $(date +%s) - start )) s"
done
