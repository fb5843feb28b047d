#!/bin/sh
# dlc with `--blas $DLC_BLAS` (default openblas) added to every compile
# (dlc MODEL -o ..., dlc check, dlc bench), for test runners that take a dlc
# binary (tests/conformance/run.py). usage: DLC=path/to/dlc dlc_blas.sh ARGS...
: "${DLC:?set DLC to the dlc binary}"
case "$1" in
    info|--help|-h|--version) exec "$DLC" "$@" ;;
    *) exec "$DLC" "$@" --blas "${DLC_BLAS:-openblas}" ;;
esac
