#!/usr/bin/env bash
# Build (once) the llama-cpp-python wheel for one CPU level and print its path.
#
#   deploy/llama_cpp_wheel.sh [avx2|avx512|native]   (default avx2)
#
# Why not a plain `pip install llama-cpp-python`: its default build is `-march=native`, which
# compiles llama.cpp's AMX kernels in on Sapphire Rapids-class CPUs, and those segfault on the
# first evaluation of a quantized GGUF (llama.cpp issue 20824; bench/llama_amx_check.sh shows it).
# The levels:
#   avx2    the default: AVX2, FMA, F16C, BMI2, no AVX-512 and no AMX. Runs on every x86-64 CPU
#           since 2013 (Intel Haswell, AMD Zen), AMX machines included.
#   avx512  AVX-512 F/VBMI/VNNI/BF16, no AMX: for CPUs that have all four (Ice Lake and later
#           Xeons, AMD Zen 4 and later); dies with SIGILL elsewhere.
#   native  llama.cpp's own default, kept only to reproduce the crash and for the benchmark.
# pip's wheel cache does not know CMake flags (it would hand back a wheel built with other ones),
# so each level's wheel is kept in its own folder, named by a hash of the exact flags.
set -euo pipefail

LEVEL="${1:-avx2}"
VERSION="0.3.36"
PIP="${PIP:-pip}"
COMMON="-DLLAVA_BUILD=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF"
NO_AMX="-DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
X86="-DGGML_NATIVE=OFF -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
case "$LEVEL" in
  avx2) FLAGS="$X86 -DGGML_AVX512=OFF $NO_AMX" ;;
  avx512) FLAGS="$X86 -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON -DGGML_AVX512_BF16=ON $NO_AMX" ;;
  native) FLAGS="" ;;
  *) echo "llama_cpp_wheel.sh: unknown CPU level '$LEVEL' (avx2, avx512 or native)" >&2; exit 2 ;;
esac
if [ "$LEVEL" != native ] && [ "$(uname -m)" != x86_64 ]; then
  FLAGS=""  # the levels are x86-64 instruction sets; elsewhere llama.cpp's default build is used
fi
CMAKE_ARGS="$COMMON $FLAGS"
KEY="$(printf '%s %s %s' "$VERSION" "$CMAKE_ARGS" "$(uname -m)" | sha256sum | cut -c1-12)"
CACHE="${SPECIALIST_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/specialist/llama-cpp-wheels}/$LEVEL-$KEY"

wheel="$(ls "$CACHE"/llama_cpp_python-"$VERSION"-*.whl 2>/dev/null | head -n 1 || true)"
if [ -z "$wheel" ]; then
  echo "building llama-cpp-python $VERSION for CPU level $LEVEL (a few minutes): $CMAKE_ARGS" >&2
  mkdir -p "$CACHE.partial"
  CMAKE_ARGS="$CMAKE_ARGS" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
    "$PIP" wheel --quiet --no-deps --no-cache-dir --no-binary llama-cpp-python \
    "llama-cpp-python==$VERSION" -w "$CACHE.partial" >&2
  printf '%s\n' "$CMAKE_ARGS" >"$CACHE.partial/CMAKE_ARGS"
  rm -rf "$CACHE" && mv "$CACHE.partial" "$CACHE"
  wheel="$(ls "$CACHE"/llama_cpp_python-"$VERSION"-*.whl | head -n 1)"
fi
echo "$wheel"
