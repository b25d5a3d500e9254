#!/usr/bin/env bash
# Builds and runs the libFuzzer targets for a bounded number of iterations each.
# Usage: fuzz/run.sh [RUNS]   (default 2000000). Prints "N passed, N failed".
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
runs=${1:-2000000}
CLANG=${CLANG:-$(command -v clang || command -v clang-14)}
out=build/fuzz
mkdir -p "$out"
pass=0
fail=0
# target name -> the sources it needs besides itself
declare -A deps=([fuzz_virtq]="src/virtio/virtq.c"
    [fuzz_ws]="src/api/ws_frame.c -lnettle"
    [fuzz_qcow2]="$(echo src/backend/disk/*.c) src/base/file.c -lz -lzstd -lpthread"
    [fuzz_api]="src/api/apireq.c src/backend/net/net_config.c src/base/log.c src/vm/migrate_secret.c src/base/hmac256.c -ljansson -lnettle -lpthread"
    [fuzz_snapshot]="src/state/snapfile.c src/state/snapconfig.c src/base/hmac256.c src/base/file.c src/dev/uart16550.c src/dev/goldfish_rtc.c src/dev/vmgenid.c -lz -ljansson -lnettle -lpthread"
    [fuzz_migrate_in]="$(echo src/vm/migrate_in.c src/vm/migrate_link.c src/vm/migrate_auth.c src/vm/migrate_listen.c src/vm/migrate_secret.c src/state/snapfile.c src/state/snapconfig.c src/base/hmac256.c src/base/file.c src/mem/gmem.c src/backend/disk/*.c) -lz -lzstd -ljansson -lnettle -lpthread")
# targets slower per run (file I/O on a memfd) get fewer runs unless RUNS is given
declare -A target_runs=([fuzz_qcow2]=40000 [fuzz_api]=1000000 [fuzz_snapshot]=40000
    [fuzz_migrate_in]=30000)
for t in "${!deps[@]}"; do
    echo "==> $t"
    if ! $CLANG -std=gnu11 -g -O1 -D_GNU_SOURCE -Isrc -fsanitize=fuzzer,address,undefined \
        -fno-sanitize-recover=undefined -o "$out/$t" "fuzz/$t.c" ${deps[$t]}; then
        echo "FAIL $t: build"
        fail=$((fail + 1))
        continue
    fi
    mkdir -p "$out/$t.corpus"
    t_runs=${target_runs[$t]:-$runs}
    [[ $# -gt 0 ]] && t_runs=$runs
    if "$out/$t" -runs="$t_runs" -max_len=3072 -len_control=10 -seed=1 "$out/$t.corpus" >"$out/$t.log" 2>&1; then
        echo "PASS $t: $t_runs runs ($(grep -c . "$out/$t.log") log lines, $out/$t.log)"
        pass=$((pass + 1))
    else
        echo "FAIL $t: see $out/$t.log"
        tail -n 30 "$out/$t.log"
        fail=$((fail + 1))
    fi
done
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
