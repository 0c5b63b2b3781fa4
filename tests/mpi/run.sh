#!/usr/bin/env bash
# run.sh: `make test-mpi`: the MPI build against the serial one. core/mpi.h's self-test at 1, 2 and 3
# ranks, then every other tests/mpi/*.sh with the same arguments. Usage: run.sh SERIAL_XAI MPI_XAI
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 2 ] || { echo "usage: $0 SERIAL_XAI MPI_XAI (make test-mpi)"; exit 2; }
serial=$(realpath "$1") mpi=$(realpath "$2")
# Root in CI containers: Open MPI refuses without both; --oversubscribe: 3 ranks on 2 cores.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# Ranks on shared cores: waiting OpenMP workers sleep instead of spinning.
export OMP_WAIT_POLICY=PASSIVE
fail=0
selftest=$(dirname "$mpi")/xai_mpi_selftest
for n in 1 2 3; do
    mpirun -n $n "$selftest" $n || { echo "FAIL mpi selftest at $n ranks"; fail=1; }
done
for t in "$here"/*.sh; do
    [ "$(basename "$t")" = run.sh ] && continue
    echo "== $(basename "$t")"
    bash "$t" "$serial" "$mpi" || { echo "FAIL $(basename "$t")"; fail=1; }
done
[ $fail = 0 ] && echo "test-mpi: all passed"
exit $fail
