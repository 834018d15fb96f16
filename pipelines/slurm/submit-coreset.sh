#!/bin/bash
# Submits the COINCIDE pipeline on Slurm: an extract array of TASKS tasks, then one coreset job that starts only when every
# array task has succeeded (afterok). Prints both job ids.
#   pipelines/slurm/submit-coreset.sh TASKS RUN MANIFEST FEATURES_DIR CLUSTERS RATIO OUT_DIR [MODEL]
set -euo pipefail
[ $# -ge 7 ] || { echo "usage: $0 TASKS RUN MANIFEST FEATURES_DIR CLUSTERS RATIO OUT_DIR [MODEL]" >&2; exit 2; }
here=$(dirname "$0")
array=$(sbatch --parsable --array=0-$(($1 - 1)) "$here/extract.sbatch" "$2" "$3" "$4" "${8:-tiny}")
array=${array%%;*}
coreset=$(sbatch --parsable --dependency=afterok:"$array" "$here/coreset.sbatch" "$4" "$5" "$6" "$7")
echo "extract array job $array ($1 tasks), coreset job ${coreset%%;*} after it"
