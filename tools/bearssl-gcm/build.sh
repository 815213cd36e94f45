#!/usr/bin/env bash
# Rebuilds tessera/static/tessera/vendor/bearssl-gcm/aesgcm.wasm from BearSSL 0.6's C sources.
#   tools/bearssl-gcm/build.sh <unpacked BearSSL 0.6 source tree>
# On Debian 12: `apt-get install clang lld`, and the sources from `apt-get source bearssl` (0.6+dfsg.1).
# The same compiler and sources give the same bytes; VERSION records the SHA-256 of the committed file.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="${1:?usage: build.sh <BearSSL 0.6 source tree>}"
out="$here/../../tessera/static/tessera/vendor/bearssl-gcm/aesgcm.wasm"
files=(
  symcipher/aes_ct64.c symcipher/aes_ct64_enc.c symcipher/aes_ct64_ctr.c
  hash/ghash_ctmul64.c aead/gcm.c
  codec/ccopy.c codec/enc32be.c codec/dec32be.c codec/enc32le.c codec/dec32le.c codec/enc64le.c codec/dec64le.c
)
clang --target=wasm32 -O3 -msimd128 -mbulk-memory -nostdlib -ffreestanding \
  -I"$here/shim" -I"$src/inc" -I"$src/src" -Wl,--no-entry -Wl,--strip-all \
  -o "$out" "$here/aesgcm.c" "${files[@]/#/$src/src/}"
sha256sum "$out"
