#!/bin/bash
# Session-2026-12-08 run (docs/runtime.md, "Conditioning span"): the low-latency mode's first 10 s of a
# stream remove a mean taken over less than a window, and the shipped student passes the difference
# through as a baseline shift. Fine-tune the shipped student with 30 % of its windows conditioned that
# way (--partial-span-fraction 0.3); otherwise as the control of queue_2026-12-08_long_teacher.sh
# (student_control), whose end it waits for (one thread each on the 2-core host).
cd /work/main
while pgrep -f "runs/q8/student_control" > /dev/null; do sleep 30; done
.venv/bin/ulde-train student --init model/checkpoints/student.pt --input-normalization mean-peak --distribution device \
  --fake-quant --parity-weight 0.3 --low-band-weight 0 --clean-fraction 0.3 --lr 2e-4 --epochs 24 --patience 24 \
  --seed 33 --threads 1 --data-dir ../shared/data --teacher model/checkpoints/teacher.pt \
  --partial-span-fraction 0.3 --out runs/q8/student_partial_span > runs/q8/student_partial_span.log 2>&1
