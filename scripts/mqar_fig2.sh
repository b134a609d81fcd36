#!/bin/bash
# Chapter 08's Zoology-Figure-2 grid on the lent H200, in two device calls of under 10 minutes:
#   PART=1: Hyena at L 64 (4 pairs) and 128 (8 pairs), widths 64-256;
#   PART=2: Hyena at L 256 (16 pairs), widths 64-512, and at L 128, width 512; attention at
#           every length (it is fast: seconds to a minute a run).
# Zoology's settings: vocab 8192, 100k training sequences, batch 512, 2 blocks without MLP,
# id 0 between the queries. Every run of a part trains at once (one process each, the GPU shared
# through CUDA MPS when the machine has it: a probe measured 1.9x the steps per second of
# time-sliced processes at 8-16 runs), with a cosine over its time budget (BUDGET seconds),
# stopping early at 99.5% validation accuracy (STOP_AT: the stop biases the validation
# accuracy it reads upwards, so it sits above the 99% at which the test set counts a run solved). Matrix products in TF32 (the probe: 2.3x faster
# steps at width 512, L 256). Attention at width 64 only (Zoology: it solves every length
# there). Each grid writes its own record
# under $OUT; hyena_lab.experiments.mqar.merge_grids joins them into one record.
set -u
export PYTHONPATH=$PWD TQDM_DISABLE=1 PYTHONUNBUFFERED=1 TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python -c "import torch; print('TF32 matmul:', torch.backends.cuda.matmul.allow_tf32)"
BUDGET=${BUDGET:-400}
LRS=${LRS:-3e-3 1e-2}
export CUDA_MPS_PIPE_DIRECTORY=/tmp/mqar_mps_pipe CUDA_MPS_LOG_DIRECTORY=/tmp/mqar_mps_log
mkdir -p $CUDA_MPS_PIPE_DIRECTORY $CUDA_MPS_LOG_DIRECTORY
if command -v nvidia-cuda-mps-control >/dev/null && nvidia-cuda-mps-control -d; then
  echo "MPS: on"; trap 'echo quit | nvidia-cuda-mps-control' EXIT
else
  echo "MPS: off (time-sliced processes)"; unset CUDA_MPS_PIPE_DIRECTORY CUDA_MPS_LOG_DIRECTORY
fi
grid() {  # grid NAME MIXER "WIDTHS" "LENS" "PAIRS" JOBS
  python -m hyena_lab.cli mqar-grid --device cuda --mixers $2 --widths $3 --seq-lens $4 \
    --pairs $5 --lrs $LRS --vocab-size 8192 --no-random-non-queries --mlp-ratio 0 \
    --num-train 100000 --num-test 1000 --max-steps 20000 --batch-size 512 \
    --time-budget $BUDGET --schedule time --stop-at ${STOP_AT:-0.995} --jobs $6 --threads 1 \
    --out $OUT/mqar-$1.json > $OUT/mqar-$1.log 2>&1
  echo "$1: exit $? after $SECONDS s: $(tail -1 $OUT/mqar-$1.log)"
}
if [ "${PART:-1}" = 1 ]; then
  grid hyena-L64-128 hyena "64 128 256" "64 128" "4 8" 12 &
else
  grid attention attention "64" "64 128 256" "4 8 16" 6 &
  grid hyena-L256 hyena "64 128 256 512" "256" "16" 8 &
  grid hyena-L128-w512 hyena "512" "128" "8" 2 &
fi
wait
nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader
