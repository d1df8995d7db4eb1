#!/bin/bash
# A kvprism sweep as a Slurm job array: array task I runs shard I/N of CONFIG into OUT/shard-I.
# Submit from the repository checkout (the tasks run there), with one task per shard:
#
#   mkdir -p logs
#   sbatch --array=0-15 scripts/slurm-array.sh configs/quickstart.yaml 16 results/quickstart
#
# Arguments after OUT go to `kvprism run` (e.g. --set samples=12). sbatch options on the
# command line override the #SBATCH lines below. docs/scale.md has the whole recipe.
#SBATCH --job-name=kvprism-sweep
#SBATCH --array=0-15
#SBATCH --cpus-per-task=8
#SBATCH --mem=16G
#SBATCH --time=02:00:00
#SBATCH --requeue
#SBATCH --output=logs/%x-%A_%a.out
set -euo pipefail
usage="usage: sbatch --array=0-<N-1> scripts/slurm-array.sh CONFIG N OUT [kvprism run options...]"
config=${1:?$usage}
shards=${2:?$usage}
out=${3:?$usage}
shift 3
task=${SLURM_ARRAY_TASK_ID:?not a Slurm array task; $usage}
if ! [[ $shards =~ ^[1-9][0-9]*$ ]] || (( task >= shards )); then
  echo "slurm-array.sh: array task $task does not fit N=$shards shards; $usage" >&2
  exit 2
fi
cd "$SLURM_SUBMIT_DIR"
# The checkout's own bin, not npx: in the package's own folder npx first installs the package
# into its cache (minutes the first time), and the array's tasks would start that together.
# exec: Slurm's SIGTERM (scancel, pre-emption) reaches kvprism, which releases its run lock.
exec node bin/kvprism.js run "$config" \
  --shard "$task/$shards" \
  --out "$out/shard-$task" \
  --set "threads=${SLURM_CPUS_PER_TASK:-1}" \
  --resume --no-report "$@"
