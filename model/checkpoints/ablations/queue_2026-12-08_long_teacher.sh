#!/bin/bash
# Session-2026-12-08 runs (docs/fidelity.md section 3): longer training moved the student's trade-off
# curve (14 -> 64 epochs); the teacher had only 10. Does a teacher trained 48 epochs (the recipe's teacher
# stage, longer) distil a better student? Two runs at a time on the 2-core host, one thread each:
#  A: the long teacher, then the shipped student fine-tuned 24 more epochs distilled from it;
#  B (control, beside A's teacher): the shipped student fine-tuned 24 more epochs from the shipped teacher.
cd /work/main
TEACHER=(teacher --init model/checkpoints/paper_protocol/teacher.pt --input-normalization mean-peak --distribution device
         --low-band-weight 1.0 --lr 1e-3 --epochs 48 --patience 48 --seed 21 --threads 1 --data-dir ../shared/data)
STUDENT=(student --init model/checkpoints/student.pt --input-normalization mean-peak --distribution device
         --fake-quant --parity-weight 0.3 --low-band-weight 0 --clean-fraction 0.3 --lr 2e-4 --epochs 24
         --patience 24 --seed 33 --threads 1 --data-dir ../shared/data)
mkdir -p runs/q8
( .venv/bin/ulde-train "${TEACHER[@]}" --out runs/q8/teacher_long > runs/q8/teacher_long.log 2>&1 &&
  .venv/bin/ulde-train "${STUDENT[@]}" --teacher runs/q8/teacher_long/best.pt --out runs/q8/student_longteacher \
    > runs/q8/student_longteacher.log 2>&1 ) &
.venv/bin/ulde-train "${STUDENT[@]}" --teacher model/checkpoints/teacher.pt --out runs/q8/student_control \
  > runs/q8/student_control.log 2>&1
wait
