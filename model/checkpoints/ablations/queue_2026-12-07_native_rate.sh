#!/bin/bash
# Session-2026-12-07 (night), issue 15: a model trained at a device's own rate (250 Hz) against the
# 360 Hz model behind the runtime's resampler (docs/runtime.md, "A native-rate model"). Both runs
# fine-tune the shipped student (model/checkpoints/student.pt) for 14 epochs with the same arguments and
# seed; they differ only in --sample-rate-hz. No distillation: the teacher is a 360 Hz network, and the
# same settings at 360 Hz are the control that separates the rate from the extra training. Two runs at a
# time on the 2-core host (one thread each).
cd /work/main
COMMON=(student --init model/checkpoints/student.pt --distribution device --fake-quant --parity-weight 0.3
        --low-band-weight 0 --lr 5e-4 --epochs 14 --patience 30 --threads 1 --clean-fraction 0.3 --seed 41
        --data-dir ../shared/data)
run() { name=$1; shift; .venv/bin/ulde-train "${COMMON[@]}" "$@" --out runs/q/$name > runs/q/$name.log 2>&1; }
mkdir -p runs/q
run native250_s41 --sample-rate-hz 250 & run native360_s41 --sample-rate-hz 360; wait
