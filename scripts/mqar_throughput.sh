#!/bin/bash
# Chapter 08: how many MQAR training steps a second one H200 gives (scripts/mqar_throughput.py):
# one run alone, then 1-16 runs at once, time-sliced and (if the machine has it) through CUDA MPS.
# Writes $OUT/08_mqar-gpu_throughput.json.
export PYTHONPATH=$PWD TQDM_DISABLE=1 PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,compute_mode --format=csv,noheader
python scripts/mqar_throughput.py single 2>/dev/null | tee $OUT/single.jsonl
conc() {  # conc N SHARING: N workers (Hyena, width 128, L 128) for 12 s from a common start
  start=$(python -c "import time; print(time.time() + 25)")
  for i in $(seq $1); do
    python scripts/mqar_throughput.py worker hyena 128 128 8 12 $start > $OUT/w_$i.txt 2>&1 &
  done
  wait
  cat $OUT/w_*.txt | grep steps_per_s | python -c "import sys, json
rows = [json.loads(x) for x in sys.stdin]
print(json.dumps({'sharing': '$2', 'n': $1, 'late': sum(r['late'] for r in rows),
                  'total_steps_per_s': round(sum(r['steps_per_s'] for r in rows), 1)}))" \
    | tee -a $OUT/concurrent.jsonl
  rm -f $OUT/w_*.txt
}
for n in 1 4 8 16; do conc $n time_sliced; done
export CUDA_MPS_PIPE_DIRECTORY=/tmp/mps_pipe CUDA_MPS_LOG_DIRECTORY=/tmp/mps_log
mkdir -p $CUDA_MPS_PIPE_DIRECTORY $CUDA_MPS_LOG_DIRECTORY
if command -v nvidia-cuda-mps-control >/dev/null && nvidia-cuda-mps-control -d; then
  sleep 2
  for n in 8 16; do conc $n mps; done
  echo quit | nvidia-cuda-mps-control
  sleep 2
else
  echo "no MPS on this machine"
fi
python scripts/mqar_throughput.py record $OUT
