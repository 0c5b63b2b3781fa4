# lib_e2e.sh: what the end-to-end scripts share (sourced): check/contains with pass/fail counts and a
# temporary folder removed on exit.
fail=0; pass=0
check() { # name, expected exit code, command...
    local name=$1 want=$2; shift 2
    out=$("$@" 2>&1); rc=$?
    if [ "$rc" != "$want" ]; then echo "FAIL $name: exit $rc, wanted $want"; echo "$out" | head -5; fail=$((fail+1)); else pass=$((pass+1)); fi
}
contains() { # name, needle (in $out)
    if ! grep -qF -- "$2" <<<"$out"; then echo "FAIL $1: output lacks '$2'"; echo "$out" | head -5; fail=$((fail+1)); else pass=$((pass+1)); fi
}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
