#!/bin/bash
# Session-2026-12-07 (night), issue 15: does the 250 Hz student close its gap to the 360 Hz student
# behind the resamplers with more epochs? model/recipes/student_250hz.toml's stage with 28 epochs
# instead of 14 (one run, one thread).
cd /work/main
.venv/bin/ulde-train student --init model/checkpoints/student.pt --teacher model/checkpoints/teacher.pt --sample-rate-hz 250 \
    --distribution device --fake-quant --parity-weight 0.3 --low-band-weight 0 --clean-fraction 0.3 --lr 5e-4 \
    --epochs 28 --patience 30 --seed 41 --threads 1 --data-dir ../shared/data --out runs/q/native250_kd28_s41 \
    > runs/q/native250_kd28_s41.log 2>&1
