# common.sh: the set-up every tests/mpi/*.sh script shares, sourced first thing (not run):
#   source "$(dirname "$0")/common.sh" "$@"     (the arguments: SERIAL_XAI MPI_XAI)
# Sets serial, mpi, here (tests/mpi), src (the source tree), PY, tmp (removed at exit unless KEEP is
# set), Open MPI's settings, bad (count a failure), same (two HDF5 files value for value), finish.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
[ $# -ge 2 ] || { echo "usage: $(basename "$0") SERIAL_XAI MPI_XAI (make test-mpi)"; exit 2; }
serial=$(realpath "$1") mpi=$(realpath "$2")
PY=/usr/bin/python3
# Root in CI containers: Open MPI refuses without both; oversubscribe: 3 ranks on 2 cores. Ranks on
# shared cores: waiting OpenMP workers sleep instead of spinning.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMP_WAIT_POLICY=PASSIVE
fail=0
bad() { echo "FAIL: $*"; fail=1; }
tmp=$(mktemp -d); trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
# The serial build's file $1 against the MPI build's $2, every value and attribute (h5same.py); $3: the case.
same() { "$PY" "$here/h5same.py" "$1" "$2" || bad "$3: $(basename "$2") differs from the serial $(basename "$1")"; }
# The script's verdict and exit status: finish NAME.
finish() { [ $fail = 0 ] && echo "$1: all passed"; exit $fail; }
