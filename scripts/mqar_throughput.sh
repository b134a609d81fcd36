#!/bin/bash
# Chapter 08: how many MQAR training steps a second one H200 gives (scripts/mqar_throughput.py).
export PYTHONPATH=$PWD TQDM_DISABLE=1 PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,compute_mode --format=csv,noheader
python scripts/mqar_throughput.py single 2>&1 | grep -v Warning | tee $OUT/single.txt
conc() {  # conc N label
  s=$(python -c "import time;print(time.time()+25)")
  for i in $(seq $1); do python scripts/mqar_throughput.py worker hyena 128 128 8 12 $s > $OUT/w_$2_$i.txt 2>&1 & done; wait
  echo "$2 N=$1: $(cat $OUT/w_$2_*.txt | grep steps_per_s | python -c "import sys,json;r=[json.loads(l) for l in sys.stdin];print('sum',round(sum(x['steps_per_s'] for x in r),1),'each',[x['steps_per_s'] for x in r],'late',sum(x['late'] for x in r))")"
  rm -f $OUT/w_$2_*.txt
}
for n in 1 4 8 16; do conc $n plain; done
export CUDA_MPS_PIPE_DIRECTORY=/tmp/mps_pipe CUDA_MPS_LOG_DIRECTORY=/tmp/mps_log
mkdir -p $CUDA_MPS_PIPE_DIRECTORY $CUDA_MPS_LOG_DIRECTORY
if command -v nvidia-cuda-mps-control && nvidia-cuda-mps-control -d; then
  sleep 2
  for n in 8 16; do conc $n mps; done
  echo quit | nvidia-cuda-mps-control; sleep 2
else echo "no MPS"; fi
nvidia-smi --query-gpu=compute_mode --format=csv,noheader
