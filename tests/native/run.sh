#!/usr/bin/env bash
# The kernel tables without Python, on every ISA, against the scalar ground truth:
#   1. builds tests/native/driver.cpp with each ISA table of this machine's architecture
#      (x86-64: scalar sse2 avx2 avx512; aarch64: scalar neon) and runs it for every ISA the CPU
#      has;
#   2. on x86-64, cross-builds it for aarch64 (scalar + NEON tables, static) with
#      aarch64-linux-gnu-g++ and runs it under qemu-aarch64;
#   3. compares every output with this machine's scalar output, line by line (one FNV-1a 64
#      hash per kernel/variant/storage/size case, see driver.cpp): any difference fails.
# The compile flags are read from CMakeLists.txt (FASTOPTIM_KERNEL_FLAGS and each
# fastoptim_add_isa(...) line, after CMake's Release flags), so the driver's kernels are built
# exactly as the extension's.
#
#   tests/native/run.sh [OUT_DIR]     (CXX, AARCH64_CXX, QEMU_AARCH64 override the tools;
#                                      DRIVER_TIMEOUT: seconds per driver run, default 120)
#   driver-<arch> ISA "CASE"          in OUT_DIR: every buffer of one case after each step, to
#                                      see which elements differ (qemu-aarch64 for the aarch64 one)
#
# Needs g++ (or clang++); for step 2 g++-aarch64-linux-gnu and qemu-user (Debian packages).
# Wall time here (2 cores): 61-80 s (26-45 s of builds, 8 s of x86-64 runs, 27 s under qemu).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$(mktemp -d)}"
mkdir -p "$out"
CXX="${CXX:-g++}"
AARCH64_CXX="${AARCH64_CXX:-aarch64-linux-gnu-g++}"
QEMU_AARCH64="${QEMU_AARCH64:-qemu-aarch64}"

die() { echo "tests/native/run.sh: $*" >&2; exit 1; }

# ---- flags, from CMakeLists.txt
cmake_text="$(tr '\n' ' ' < "$root/CMakeLists.txt" | tr -s ' ')"
kernel_flags="$(grep -o 'set(FASTOPTIM_KERNEL_FLAGS [^)]*)' <<<"$cmake_text" |
                sed 's/^set(FASTOPTIM_KERNEL_FLAGS //; s/)$//')"
[[ "$kernel_flags" == *-ffp-contract=off* ]] ||
  die "could not read FASTOPTIM_KERNEL_FLAGS from CMakeLists.txt (got '$kernel_flags')"
isa_flags() {
  local f
  f="$(grep -o "fastoptim_add_isa($1 [^)]*)" <<<"$cmake_text" |
       sed "s/^fastoptim_add_isa($1 //; s/)\$//")"
  [[ -n "$f" ]] || die "no fastoptim_add_isa($1 ...) in CMakeLists.txt"
  echo "$f"
}
release="-O3 -DNDEBUG"  # CMake's CMAKE_CXX_FLAGS_RELEASE (scikit-build-core builds Release)
common="-std=gnu++17 -Wno-psabi -I$root/cpp"

# build CXX EXE LDFLAGS ISA...: the driver with these ISA tables
build() {
  local cxx="$1" exe="$2" ldflags="$3"; shift 3
  local dir="$exe.objs" defs=() pids=() isa
  mkdir -p "$dir"
  for isa in "$@"; do
    defs+=("-DFASTOPTIM_HAVE_${isa^^}")
    # shellcheck disable=SC2046,SC2086
    "$cxx" $release $common -fvisibility=hidden $kernel_flags $(isa_flags "$isa") \
      -DFASTOPTIM_ISA_NS="isa_$isa" -DFASTOPTIM_ISA_NAME="\"$isa\"" \
      -c "$root/cpp/core/isa_table.cpp" -o "$dir/isa_$isa.o" &
    pids+=($!)
  done
  local src
  for src in cpp/core/dispatch.cpp cpp/core/kernel_specs.cpp tests/native/driver.cpp; do
    # shellcheck disable=SC2086
    "$cxx" $release $common "${defs[@]}" -O2 $kernel_flags \
      -c "$root/$src" -o "$dir/$(basename "$src" .cpp).o" &
    pids+=($!)
  done
  local pid
  for pid in "${pids[@]}"; do wait "$pid" || die "compiling with $cxx failed"; done
  # shellcheck disable=SC2086
  "$cxx" -o "$exe" "$dir"/*.o $ldflags
}

# drive OUT CMD...: one driver run into OUT, bounded (a kernel that never returns is a failure)
drive() {
  local o="$1" rc=0; shift
  timeout "${DRIVER_TIMEOUT:-120}" "$@" > "$o" || rc=$?
  if (( rc == 124 )); then
    echo "  $* timed out after ${DRIVER_TIMEOUT:-120}s: the case after" \
         "'$(tail -1 "$o" | sed 's/ [0-9a-f]*$//')' does not return" >&2
  elif (( rc != 0 )); then
    echo "  $* failed (exit $rc)" >&2
  fi
  return "$rc"
}

compare() {  # compare REFERENCE OTHER: identical, or the first differing cases
  if cmp -s "$1" "$2"; then
    echo "  $(basename "$2"): identical to $(basename "$1") ($(tail -1 "$2"))"
    return 0
  fi
  echo "  $(basename "$2") DIFFERS from $(basename "$1"):" \
       "$(diff "$1" "$2" | grep -c '^>' || true) of $(wc -l < "$1") lines; first ones:" >&2
  diff "$1" "$2" | head -20 >&2
  return 1
}

host="$(uname -m)"
case "$host" in
  x86_64) host_isas=(scalar sse2 avx2 avx512) ;;
  aarch64) host_isas=(scalar neon) ;;
  *) die "no ISA list for $host" ;;
esac

SECONDS=0
echo "-- building the driver for $host (${host_isas[*]}) with $CXX"
build "$CXX" "$out/driver-$host" "" "${host_isas[@]}"
echo "   built in ${SECONDS}s"
cross=0
if [[ "$host" == x86_64 ]]; then
  command -v "$AARCH64_CXX" >/dev/null ||
    die "$AARCH64_CXX not found (apt-get install g++-aarch64-linux-gnu)"
  command -v "$QEMU_AARCH64" >/dev/null || die "$QEMU_AARCH64 not found (apt-get install qemu-user)"
  t=$SECONDS
  echo "-- cross-building the driver for aarch64 (scalar neon) with $AARCH64_CXX -static"
  build "$AARCH64_CXX" "$out/driver-aarch64" "-static" scalar neon
  echo "   built in $((SECONDS - t))s"
  cross=1
fi

fail=0
t=$SECONDS
mapfile -t avail < <("$out/driver-$host" --list)
echo "-- running on $host: ${avail[*]}"
for isa in "${avail[@]}"; do
  drive "$out/$host-$isa.txt" "$out/driver-$host" "$isa" || die "the $host driver failed on $isa"
done
ref="$out/$host-scalar.txt"
echo "   $(wc -l < "$ref") cases per ISA, ran in $((SECONDS - t))s"
for isa in "${avail[@]}"; do
  [[ "$isa" == scalar ]] || compare "$ref" "$out/$host-$isa.txt" || fail=1
done
if (( cross )); then
  t=$SECONDS
  echo "-- running the aarch64 driver under $QEMU_AARCH64"
  for isa in scalar neon; do
    drive "$out/aarch64-$isa.txt" "$QEMU_AARCH64" "$out/driver-aarch64" "$isa" ||
      die "the aarch64 driver failed on $isa"
  done
  echo "   ran in $((SECONDS - t))s"
  compare "$ref" "$out/aarch64-scalar.txt" || fail=1
  compare "$ref" "$out/aarch64-neon.txt" || fail=1
fi
echo "-- native driver: $( ((fail)) && echo FAILED || echo passed) in ${SECONDS}s (outputs in $out)"
exit "$fail"
