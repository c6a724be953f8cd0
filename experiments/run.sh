#!/usr/bin/env bash
# Regenerates the tables and plots of EXPERIMENTS.md:
#   experiments/run.sh                   # all six experiments, one after the other
#   experiments/run.sh sgdph-cnn ...     # some of them
# Each writes experiments/results/NAME/{summary.md,*.csv,*.png,log.txt}. Needs Fashion-MNIST
# (apt-get install dataset-fashion-mnist) and builds the experiments module first. Run nothing
# else on the machine meanwhile if the seconds matter (sgn-large-batch plots loss per second).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  names=(sgdph-cnn sgn-large-batch hf-autoencoder hessian-analysis resnet-sgdph kfac-fashion lstm-bdhf)
fi
if [ "${SKIP_BUILD:-}" != "1" ]; then
  ./mvnw -B -q -DskipTests -pl cli,experiments -am package
fi
for name in "${names[@]}"; do
  out="experiments/results/$name"
  mkdir -p "$out"
  echo "== $name -> $out ($(date -u +%FT%TZ))"
  ./sgdph experiment "$name" --out "$out" 2>&1 | tee "$out/log.txt"
done

# Quote each summary in EXPERIMENTS.md, between its markers (the title line dropped).
for name in "${names[@]}"; do
  summary="experiments/results/$name/summary.md"
  [ -f "$summary" ] || continue
  awk -v name="$name" -v file="$summary" '
    $0 ~ "^<!-- summary: " name " " { print; while ((getline line < file) > 0) if (n++ > 1) print line; skip = 1; next }
    $0 ~ "^<!-- end summary: " name " " { skip = 0 }
    !skip { print }' EXPERIMENTS.md > EXPERIMENTS.md.tmp && mv EXPERIMENTS.md.tmp EXPERIMENTS.md
done
