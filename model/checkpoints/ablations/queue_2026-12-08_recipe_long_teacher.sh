#!/bin/bash
# Session-2026-12-08 run: the recipe's student stage exactly as shipped (model/recipes/student.toml: same
# initialisation, seed 31, 64 epochs), distilled from the 48-epoch teacher of
# queue_2026-12-08_long_teacher.sh instead of the 10-epoch one: an A/B of the teacher alone. Waits for
# that teacher; one thread beside the 24-epoch fine-tune from the same teacher. Stops itself after
# 82 minutes; resume with the same arguments and --max-minutes 0 (exact: last.pt).
cd /work/main
while pgrep -f "out runs/q8/teacher_long" > /dev/null; do sleep 20; done
.venv/bin/ulde-train student --init model/checkpoints/paper_protocol/student.pt --input-normalization mean-peak \
  --distribution device --teacher runs/q8/teacher_long/best.pt --fake-quant --parity-weight 0.3 --low-band-weight 0 \
  --clean-fraction 0.3 --lr 5e-4 --epochs 64 --patience 64 --seed 31 --threads 1 --data-dir ../shared/data \
  --max-minutes ${MAX_MINUTES:-82} --out runs/q8/student_recipe_longteacher > runs/q8/student_recipe_longteacher.log 2>&1
