#!/bin/bash
# Session-2026-12-07 (evening): the undistilled twins of the 30 %-noise-free distilled runs of
# queue_2026-12-07.sh (same initialisation, distribution, epochs and seeds, no teacher), so that
# distillation is compared at one distribution on two seeds (docs/fidelity.md section 3). Started on
# the core that queue_2026-12-07_long.sh's undistilled run frees.
cd /work/main
COMMON=(student --init model/checkpoints/paper_protocol/student.pt --input-normalization mean-peak --distribution device
        --fake-quant --parity-weight 0.3 --low-band-weight 0 --lr 5e-4 --epochs 14 --patience 30 --threads 1
        --clean-fraction 0.3 --data-dir ../shared/data)
run() { name=$1; shift; .venv/bin/ulde-train "${COMMON[@]}" "$@" --out runs/q/$name > runs/q/$name.log 2>&1; }
while pgrep -f "runs/q/nokd_clean03_long_s31" > /dev/null; do sleep 30; done
run nokd_clean03_s31 --seed 31
run nokd_clean03_s32 --seed 32
