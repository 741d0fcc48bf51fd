#!/usr/bin/env bash
# Reruns every input in a folder of fuzzer findings and says where each fails: the sanitizer's or libFuzzer's first
# error line and the first stack frame outside the sanitizer runtime and libc (named by libc.so, or by glibc's own
# sources, sysdeps/…, when its debug symbols are installed), labelled by the library it lies in.
# Usage: bash fuzz/triage.sh NAME FOLDER   (NAME as in run.sh; the target must have been built by run.sh)
set -uo pipefail
cd "$(dirname "$0")/.."
name=$1 folder=$2
for input in "$folder"/*; do
  out=$(timeout 60 ".build-fuzz/debug/fuzz-$name" -timeout=10 -rss_limit_mb=2048 -detect_leaks=0 "$input" 2>&1)
  error=$(grep -m1 -E "ERROR:|Fatal error|ALARM" <<<"$out" | sed 's/==[0-9]*==//' | cut -c1-100)
  frame=$(grep -E "^ +#[0-9]+ 0x" <<<"$out" | grep -v -E "libclang_rt|compiler-rt|asan_|__sanitizer|libc\.so|sysdeps/|fuzzer::|libFuzzer" | head -1)
  case $frame in
    *libhdf5*) where=libhdf5 ;;
    *libpng*) where=libpng ;;
    *DataKit*|*FuzzSupport*|*Models*) where=SparseKit ;;
    "") where=- ;;
    *) where=other ;;
  esac
  printf '%-10s %-44s %s\n' "$where" "$(basename "$input" | cut -c1-44)" "${error:-no failure on rerun}"
done
