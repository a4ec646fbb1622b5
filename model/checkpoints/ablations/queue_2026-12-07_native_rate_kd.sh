#!/bin/bash
# Session-2026-12-07 (night), issue 15, second pair: queue_2026-12-07_native_rate.sh's runs with the
# shipped teacher (model/checkpoints/teacher.pt, 360 Hz). The 250 Hz student's windows reach the teacher
# resampled to 360 Hz and its output comes back resampled to 250 Hz (model/inference.py,
# predict_at_rate); the 360 Hz run is the control (the same extra 14 epochs of distillation at the
# shipped rate). Two runs at a time on the 2-core host (one thread each).
cd /work/main
COMMON=(student --init model/checkpoints/student.pt --teacher model/checkpoints/teacher.pt --distribution device
        --fake-quant --parity-weight 0.3 --low-band-weight 0 --lr 5e-4 --epochs 14 --patience 30 --threads 1
        --clean-fraction 0.3 --seed 41 --data-dir ../shared/data)
run() { name=$1; shift; .venv/bin/ulde-train "${COMMON[@]}" "$@" --out runs/q/$name > runs/q/$name.log 2>&1; }
mkdir -p runs/q
run native250_kd_s41 --sample-rate-hz 250 & run native360_kd_s41 --sample-rate-hz 360; wait
# Its 250 Hz run was discarded: model/inference.py's predict_at_rate then fed the teacher windows whose
# offset the resampler rippled (fixed in 6a91a76). The shipped 250 Hz student is the rerun through the
# fixed route, `ulde-train --recipe model/recipes/student_250hz.toml` (model/checkpoints/native_rate/).
# The 360 Hz run (no resampling) is unaffected: ablations/student_native360_kd_s41.pt.
