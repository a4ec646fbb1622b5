#!/bin/bash
# Session-2026-12-07 runs (docs/fidelity.md section 3): the shipped configuration (distilled, no low-band
# term) with distillation only where the teacher helps, and with 30 % noise-free windows; seeds 31 and 32,
# two runs at a time on the 2-core host (one thread each).
cd /work/main
COMMON=(student --init model/checkpoints/paper_protocol/student.pt --input-normalization mean-peak --distribution device
        --fake-quant --parity-weight 0.3 --low-band-weight 0 --lr 5e-4 --epochs 14 --patience 30 --threads 1
        --data-dir ../shared/data --teacher model/checkpoints/teacher.pt)
run() { name=$1; shift; .venv/bin/ulde-train "${COMMON[@]}" "$@" --out runs/q/$name > runs/q/$name.log 2>&1; }
mkdir -p runs/q
run kdhelp_s31 --kd-where-teacher-helps --seed 31 & run kdhelp_s32 --kd-where-teacher-helps --seed 32; wait
run kd_clean03_s31 --clean-fraction 0.3 --seed 31 & run kd_clean03_s32 --clean-fraction 0.3 --seed 32; wait
