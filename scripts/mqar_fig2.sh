#!/bin/bash
# Chapter 08's Zoology-Figure-2 grid on the lent H200, in two device calls of under 10 minutes:
#   PART=1: L 64 (4 pairs) and 128 (8 pairs);  PART=2: L 256 (16 pairs).
# Zoology's settings: vocab 8192, 100k training sequences, batch 512, 2 blocks without MLP,
# id 0 between the queries. Every run of a part trains at once (one process each; the GPU is
# shared), with a cosine over its time budget (BUDGET seconds), stopping early at 99% validation
# accuracy. Attention at width 64 only (Zoology: it solves every length there); Hyena at
# widths 64-256 (PART 1) or 64-512 (PART 2). Each grid writes its own record under $OUT.
set -u
export PYTHONPATH=$PWD TQDM_DISABLE=1 PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
BUDGET=${BUDGET:-400}
LRS=${LRS:-1e-3 3e-3}
grid() {  # grid NAME MIXER "WIDTHS" "LENS" "PAIRS"
  python -m hyena_lab.cli mqar-grid --device cuda --mixers $2 --widths $3 --seq-lens $4 \
    --pairs $5 --lrs $LRS --vocab-size 8192 --no-random-non-queries --mlp-ratio 0 \
    --num-train 100000 --num-test 1000 --max-steps 20000 --batch-size 512 \
    --time-budget $BUDGET --schedule time --jobs $6 --threads 1 \
    --out $OUT/mqar-$1.json > $OUT/mqar-$1.log 2>&1
  echo "$1: exit $? after $SECONDS s: $(tail -1 $OUT/mqar-$1.log)"
}
if [ "${PART:-1}" = 1 ]; then
  grid attention-L64-128 attention "64" "64 128" "4 8" 4 &
  grid hyena-L64-128 hyena "64 128 256" "64 128" "4 8" 12 &
else
  grid attention-L256 attention "64" "256" "16" 2 &
  grid hyena-L256 hyena "64 128 256 512" "256" "16" 8 &
fi
wait
nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader
