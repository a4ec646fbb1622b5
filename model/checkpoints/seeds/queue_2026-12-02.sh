#!/bin/bash
# Session-2026-12-02 training queue: shipped-config seed comparison, then distribution ablations.
cd /work/main
COMMON=(student --init model/checkpoints/paper_protocol/student.pt --input-normalization mean-peak --distribution device
        --fake-quant --parity-weight 0.3 --low-band-weight 0 --lr 5e-4 --epochs 14 --patience 30 --threads 1 --data-dir ../shared/data)
KD=(--teacher model/checkpoints/teacher.pt)
run() { name=$1; shift; echo "$(date -u +%T) start $name"; .venv/bin/ulde-train "${COMMON[@]}" "$@" --out runs/q/$name > runs/q/$name.log 2>&1; echo "$(date -u +%T) done $name rc=$?"; }
mkdir -p runs/q
run kd_nolb_s32 "${KD[@]}" --seed 32
run nokd_nolb_s31 --seed 31
run nokd_nolb_s32 --seed 32
run kd_nolb_clean0_s31 "${KD[@]}" --seed 31 --clean-fraction 0
run kd_nolb_paperkind_s31 "${KD[@]}" --seed 31 --kind-weights 1 0 0
