#!/bin/bash
# Chapter 06's GPU measurement in one device call (issue 17): the Triton kernels checked at the
# benchmarked sizes, every Hyena variant against float64, and `hyena-lab bench` with every
# variant beside every SDPA backend. Each step writes under $OUT as it ends, so a call cut short
# keeps the finished steps. Runs over a copy of the working tree (no install: PYTHONPATH).
# PROFILE=1 adds scripts/ch06_profile.py (where the fused layer's time goes at 8K and 64K),
# LONG_FFT=1 scripts/ch06_long_fft.py (the three-pass long convolution against the cuFFT step);
# SKIP_CHECKS=1 / SKIP_BENCH=1 split the work over two calls when one call's 10 minutes are too
# few (2026-12-03: `SKIP_BENCH=1 PROFILE=1 ACCURACY_LENGTHS=1024,4096,65536,262144,1048576
# ACCURACY_LIMIT=240 TESTS_LIMIT=200`, then `SKIP_CHECKS=1 BENCH_LIMIT=540 BENCH_BUDGET=480`).
# VS_RFFT=1 adds scripts/ch06_vs_rfft.py (the fused step against a careful rfft convolution),
# HALF_FFT=1 scripts/ch06_half_fft.py (cuFFT in half precision: speed, accuracy).
# MONARCH_TC=1 tests/test_monarch_tc.py and scripts/ch06_monarch_tc.py (the FFT convolution as
# fp16 tensor-core matrix products against the cuFFT ones, 1K-1M).
# FULL_RUN=1 (with SKIP_CHECKS=1) the whole sweep of issue 17's deliverable 4 as one run over
# several calls (`hyena_lab.bench --resume`; see its block below).
# HALF_BENCH=1 the fused layer with half-precision transforms (op.half_fft, variant
# triton_half): its tests, its accuracy against float64, its profile at 8K and 64K, and the
# forward bench beside the attention layer on every SDPA backend (each timed alone first, the
# layer then built on the fastest), 1K-256K.
# SCALING=1 the half path with measured scales (the default for bf16 inference since session
# 37): its tests on the GPU, scripts/ch06_half_scaling.py (accuracy against float64 for
# activations of size 1e-4 to 1e2, measured scales against the old fixed one) and the layer's
# profile with it. FWD_RUN=1 the forward pass of that default path (variant triton_half) beside
# the float32 one, torch.compile, the eager layer and every SDPA backend, 1K-1M, as one run
# (resumed like FULL_RUN's from figures/data/06_fft_matmul-gpu_run_fwd.json when present).
# MEASURE_COST=1 scripts/ch06_measure_cost.py: the default path against the same passes with
# nothing measured and against float32 transforms, timed in interleaved rounds.
# The committed records (2026-12-04, commit 13f1d60, HYENA_LAB_GIT_COMMIT set so) came from one
# call: `SKIP_CHECKS=1 SCALING=1 MEASURE_COST=1 FWD_RUN=1 TESTS_LIMIT=100 SCALING_LIMIT=60
# PROFILE_LIMIT=60 COST_LIMIT=60 RUN_BUDGET=320 RUN_LIMIT=370`; the accuracy of the default path
# from two more (commit f294544): `python3 -m hyena_lab.bench.variants --lengths 1024,...,1048576
# --variants triton,triton_half --out $OUT/06_fft_matmul-variant_accuracy_measured.json` (1M
# out of memory at d_model 768) and the same at `--lengths 1048576 --d-model 64`
# (..._measured_1m_d64.json).
# The 1M records of 2026-12-04 were separate calls: `hyena_lab.bench` at --lengths 1048576 (the
# command is in each record's meta), `bench.variants --lengths 1048576` at d_model 768 and 64,
# and scripts/ch06_long_fft.py's main(lengths=(2**19, 2**20)) with six tiles.
# The device's copy of the tree has a .git whose history stops where the session began, so
# records would name that commit: pass the one that runs, HYENA_LAB_GIT_COMMIT=<hash> (hyena_lab
# .measure; records of 2026-12-04 made before this name the session's first commit, "-dirty").
set -u
export PYTHONPATH=$PWD TQDM_DISABLE=1 PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__)"
step() {  # step NAME SECONDS COMMAND...: run, log to $OUT/NAME.log, say how it ended
  local name=$1 limit=$2; shift 2
  local start=$SECONDS
  timeout $limit "$@" > $OUT/$name.log 2>&1
  echo "== $name: exit $? after $((SECONDS - start)) s"; tail -${TAIL:-4} $OUT/$name.log
}
one_run() {  # one_run STEP NAME OPTIONS...: the sweep of record NAME as one run over calls: resumed
  # from figures/data/NAME.json when the working tree carries it, else started with OPTIONS
  local name=$1 record=$2; shift 2
  local run=$OUT/$record.json
  if [ -f figures/data/$record.json ]; then
    cp figures/data/$record.json $run
    step $name ${RUN_LIMIT:-560} python3 -m hyena_lab.bench --resume $run \
      --time-budget ${RUN_BUDGET:-470} --no-progress
  else
    step $name ${RUN_LIMIT:-560} python3 -m hyena_lab.bench --lengths $LENGTHS "$@" --warmup 1 \
      --min-repeats 2 --target-ms 100 --max-call-ms 60000 --time-budget ${RUN_BUDGET:-470} \
      --profile-length 0 --accuracy-length 0 --out $run --no-progress
  fi
  python3 -c "import json, collections, sys; r = json.load(open(sys.argv[1])); print('complete',
r['complete'], collections.Counter(p['status'] for p in r['points']))" $run
}
LENGTHS=${LENGTHS:-1024,2048,4096,8192,16384,32768,65536,131072,262144,1048576}
VARIANTS=${VARIANTS:-torch,compile,triton,triton_sram,triton_long}
if [ "${SKIP_CHECKS:-0}" != 1 ]; then
  step kernel_tests ${TESTS_LIMIT:-150} python3 -m pytest -q -x -p no:cacheprovider \
    tests/test_kernels.py tests/test_kernels_fftconv.py tests/test_long_conv.py \
    tests/test_long_conv_filter.py tests/test_long_fft.py
  TAIL=60 step accuracy ${ACCURACY_LIMIT:-75} python3 -m hyena_lab.bench.variants \
    --lengths ${ACCURACY_LENGTHS:-$LENGTHS} --variants $VARIANTS --out $OUT/06_variant_accuracy.json
fi
if [ "${PROFILE:-0}" = 1 ]; then  # where the fused layer's time goes (8K, 64K)
  TAIL=6 step profile ${PROFILE_LIMIT:-90} python3 scripts/ch06_profile.py \
    $OUT/06_fft_matmul-gpu_layer_profile.json
fi
if [ "${LONG_FFT:-0}" = 1 ]; then  # the three-pass long convolution against the cuFFT step
  TAIL=6 step long_fft ${LONG_FFT_LIMIT:-150} python3 scripts/ch06_long_fft.py \
    $OUT/06_fft_matmul-gpu_long_fft.json
fi
if [ "${VS_RFFT:-0}" = 1 ]; then  # the fused step against a careful rfft convolution, 1K-1M
  TAIL=12 step vs_rfft ${VS_RFFT_LIMIT:-150} python3 scripts/ch06_vs_rfft.py \
    $OUT/06_fft_matmul-gpu_vs_rfft.json
fi
if [ "${HALF_FFT:-0}" = 1 ]; then  # cuFFT in half precision: speed and accuracy
  TAIL=12 step half_fft ${HALF_FFT_LIMIT:-150} python3 scripts/ch06_half_fft.py \
    $OUT/06_fft_matmul-gpu_half_fft.json
fi
if [ "${MONARCH_TC:-0}" = 1 ]; then  # the FFT convolution as tensor-core matrix products
  step tc_tests ${TESTS_LIMIT:-150} python3 -m pytest -q -x -p no:cacheprovider \
    tests/test_monarch_tc.py
  TAIL=14 step monarch_tc ${MONARCH_TC_LIMIT:-300} python3 scripts/ch06_monarch_tc.py \
    $OUT/06_fft_matmul-gpu_monarch_tc.json
fi
if [ "${HALF_BENCH:-0}" = 1 ]; then  # op.half_fft: checked, against float64, profiled, timed
  step half_tests ${TESTS_LIMIT:-150} python3 -m pytest -q -x -p no:cacheprovider \
    tests/test_half_fft.py tests/test_forward_only.py tests/test_long_conv.py tests/test_kernels.py
  TAIL=30 step half_accuracy ${ACCURACY_LIMIT:-120} python3 -m hyena_lab.bench.variants \
    --lengths ${HALF_ACCURACY_LENGTHS:-1024,8192,65536,262144} --variants triton,triton_half \
    --out $OUT/06_fft_matmul-variant_accuracy_half.json
  TAIL=6 step half_profile ${PROFILE_LIMIT:-90} python3 scripts/ch06_profile.py \
    $OUT/06_fft_matmul-gpu_layer_profile_half.json --half-fft
  step half_bench ${BENCH_LIMIT:-300} python3 -m hyena_lab.bench \
    --lengths ${HALF_LENGTHS:-1024,2048,4096,8192,16384,32768,65536,131072,262144} \
    --passes fwd --benches sdpa,hyena,mha --backends cudnn,flash,efficient \
    --hyena-variants triton,triton_half --time-budget ${BENCH_BUDGET:-240} --profile-length 0 \
    --accuracy-length 0 --target-ms 150 --out $OUT/06_fft_matmul-gpu_bench_half.json
fi
if [ "${SCALING:-0}" = 1 ]; then  # the half path with measured scales
  step half_tests ${TESTS_LIMIT:-150} python3 -m pytest -q -x -p no:cacheprovider \
    tests/test_half_fft.py tests/test_forward_only.py
  TAIL=14 step half_scaling ${SCALING_LIMIT:-150} python3 scripts/ch06_half_scaling.py \
    $OUT/06_fft_matmul-gpu_half_scaling.json
  TAIL=6 step half_profile ${PROFILE_LIMIT:-90} python3 scripts/ch06_profile.py \
    $OUT/06_fft_matmul-gpu_layer_profile_measured.json --half-fft
fi
if [ "${MEASURE_COST:-0}" = 1 ]; then  # what measuring the scales costs, interleaved A/B
  TAIL=6 step measure_cost ${COST_LIMIT:-120} python3 scripts/ch06_measure_cost.py \
    $OUT/06_fft_matmul-gpu_measure_cost.json
fi
if [ "${FWD_RUN:-0}" = 1 ]; then  # the default bf16 inference path, forward, 1K-1M, one run
  one_run fwd_run 06_fft_matmul-gpu_run_fwd --benches sdpa,hyena,mha --passes fwd \
    --backends cudnn,flash,efficient,math --hyena-variants torch,compile,triton,triton_half
fi
[ "${SCALING:-0}${FWD_RUN:-0}${MEASURE_COST:-0}" != 000 ] && exit 0
if [ "${FULL_RUN:-0}" = 1 ]; then  # deliverable 4: every variant and backend, 1K-1M, one run
  # A device call lasts ten minutes, the run about twenty: the first call starts it, each later
  # one copies the record it left (figures/data/06_fft_matmul-gpu_run.json, carried with the
  # working tree) and resumes it (`hyena_lab.bench --resume`: same settings, same commit, same
  # kind of device, the finished cases kept). HALF_CHECKS=1 first runs the half path's tests
  # and its accuracy where it backs off (128K, 256K). The committed run (2026-12-04, commit
  # 01fce57, HYENA_LAB_GIT_COMMIT set so): `HALF_CHECKS=1 TESTS_LIMIT=90 ACCURACY_LIMIT=130
  # RUN_BUDGET=280 RUN_LIMIT=340`, then `RUN_BUDGET=470 RUN_LIMIT=570` (cut by its limit in the
  # middle of a case, which the next call ran again), then `RUN_BUDGET=400 RUN_LIMIT=520`. After
  # the first call its record's "complete" was set to false by hand: that commit's --resume
  # refused a complete record, even one whose time budget had skipped cases (since 7b2eaea it
  # resumes those).
  if [ "${HALF_CHECKS:-0}" = 1 ]; then
    step half_tests ${TESTS_LIMIT:-120} python3 -m pytest -q -x -p no:cacheprovider \
      tests/test_half_fft.py tests/test_forward_only.py
    TAIL=12 step half_accuracy_long ${ACCURACY_LIMIT:-150} python3 -m hyena_lab.bench.variants \
      --lengths 131072,262144 --variants triton,triton_half \
      --out $OUT/06_fft_matmul-variant_accuracy_half_long.json
  fi
  one_run full_run 06_fft_matmul-gpu_run --benches fftconv,sdpa,hyena,mha \
    --passes fwd,fwd+bwd --backends cudnn,flash,efficient,math \
    --hyena-variants torch,compile,triton,triton_sram,triton_half
  exit 0
fi
[ "${SKIP_BENCH:-0}" = 1 ] && exit 0
step bench ${BENCH_LIMIT:-330} python3 -m hyena_lab.bench --lengths $LENGTHS \
  --hyena-variants $VARIANTS --benches fftconv,sdpa,hyena,mha --time-budget ${BENCH_BUDGET:-300} \
  --profile-length 0 --target-ms 150 --out $OUT/06_gpu_bench.json
