#!/bin/bash
# Session-2026-12-07 (evening) runs (docs/fidelity.md section 3): does longer training move the
# noisy/clean trade-off? The 30 %-noise-free configuration for 64 epochs instead of 14, distilled and
# not distilled, same initialisation and seed, two runs at a time on the 2-core host (one thread each).
cd /work/main
COMMON=(student --init model/checkpoints/paper_protocol/student.pt --input-normalization mean-peak --distribution device
        --fake-quant --parity-weight 0.3 --low-band-weight 0 --lr 5e-4 --epochs 64 --patience 64 --threads 1
        --clean-fraction 0.3 --seed 31 --max-minutes 85 --data-dir ../shared/data)
run() { name=$1; shift; .venv/bin/ulde-train "${COMMON[@]}" "$@" --out runs/q/$name > runs/q/$name.log 2>&1; }
mkdir -p runs/q
run kd_clean03_long_s31 --teacher model/checkpoints/teacher.pt & run nokd_clean03_long_s31; wait
# The distilled run was slower than --max-minutes 85 allows for 64 epochs (about 87 s an epoch beside the
# other run), so after its epoch 20 it was stopped and resumed from its last.pt (exact: weights, optimizer,
# schedule and both random states) with the same arguments but --max-minutes 0, as the recipe runs it.
