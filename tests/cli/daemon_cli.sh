#!/usr/bin/env bash
# Installed and run as a service (issue 17): `meson install --destdir` of the
# build under test into a temp dir, then that tree's tl, with a fresh
# TL_HOME and nothing else set (no TL_TLD, TL_DATADIR, TL_FIXTURES):
#  - tl daemon start / status (-o json): the pid is alive, the address
#    answers /v1/health for this home, 0 nodes; logs --tail 1 is tld's
#    "serving" line;
#  - first use: `tl group create` + `tl aks create --node-count 0` build
#    HOME/images/default themselves (progress on stderr, the cluster's JSON
#    alone on stdout) and the cluster is Succeeded; a second aks create does
#    not build again;
#  - tl daemon stop: leaves no tld, qemu-system* or swtpm naming the home
#    (stand-ins named like QEMU and swtpm, with the home's paths in argv, are
#    started first: booting a real node is the e2e suite's); status then
#    says not running (exit 1);
#  - systemd-analyze verify accepts the installed tld.service;
#  - the installed bash completion: `tl no<TAB>` -> node, `tl daemon st<TAB>`
#    -> start stop status.
# Needs: TL_BIN (the build's tl: its build dir is installed), jq, curl,
# systemd-analyze (Debian's systemd package).
set -u
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/../lib/tap.sh"
: "${TL_BIN:?}"
command -v jq >/dev/null || bail "jq missing (apt-get install jq)"
command -v curl >/dev/null || bail "curl missing (apt-get install curl)"
command -v systemd-analyze >/dev/null || bail "systemd-analyze missing (apt-get install systemd)"
BUILD_DIR=$(cd "$(dirname "$TL_BIN")/../.." && pwd)
W=$(mktemp -d "${TMPDIR:-/tmp}/tl-daemon-test.XXXXXX")
export TL_HOME=$W/home HOME=$W/user
unset TL_TLD TL_DATADIR TL_TOKEN KUBECONFIG
mkdir -p "$HOME"
cleanup() {
    [ -n "${TL:-}" ] && "$TL" daemon stop >/dev/null 2>&1
    [ -n "${KEEP:-}" ] || rm -rf "$W"
}
trap cleanup EXIT

# The processes of the home: name tld, qemu-system*, swtpm, and the home in argv.
home_procs() {
    local p comm
    for p in /proc/[0-9]*; do
        comm=$(cat "$p/comm" 2>/dev/null) || continue
        case $comm in tld | qemu-system* | swtpm) ;; *) continue ;; esac
        tr '\0' '\n' <"$p/cmdline" 2>/dev/null | grep -q "$TL_HOME" && echo "${p#/proc/} $comm"
    done
}

meson install -C "$BUILD_DIR" --no-rebuild --quiet --destdir "$W/inst" >"$W/install.log" 2>&1
is "meson install --destdir" "$?" "0"
TL=$(find "$W/inst" -path '*/bin/tl' -type f | head -1)
PREFIX=${TL%/bin/tl}
for f in bin/tld bin/tl-agent share/trustlaunch/scripts/image-build.sh share/trustlaunch/image/init \
    share/bash-completion/completions/tl; do
    [ -e "$PREFIX/$f" ] && ok "installed $f" || not_ok "installed $f" "$(find "$W/inst" | head -40)"
done

# --- start, status, logs ---
out=$("$TL" daemon start 2>&1)
is "tl daemon start" "$? $(grep -c '^pid' <<<"$out")" "0 1"
st=$("$TL" daemon status -o json 2>&1)
pid=$(jq -r .pid <<<"$st" 2>/dev/null)
addr=$(jq -r .address <<<"$st" 2>/dev/null)
is "status: running, this home, 0 nodes" "$(jq -c '[.running, .home, .nodes]' <<<"$st" 2>&1)" \
    "[true,\"$TL_HOME\",0]"
kill -0 "$pid" 2>/dev/null && ok "status: pid $pid is alive" || not_ok "status: pid alive" "$st"
is "status: pid is the tld of tld.addr" "$pid" "$(awk '{print $2}' "$TL_HOME/tld.addr")"
is "status: the address answers /v1/health" "$(curl -s "$addr/v1/health" | jq -r .status)" "ok"
text=$("$TL" daemon status)
is "status (text): pid and address lines" "$(awk '$1=="pid"||$1=="address"{print $2}' <<<"$text" | paste -sd' ')" \
    "$pid $addr"
# tld's last lines: the serving line, then (soon after) the reconciler's lease
tail2=$("$TL" daemon logs --tail 2)
is "logs --tail 2: two lines, one of them tld's serving line" \
    "$(grep -c "serving $TL_HOME on $addr, the Kubernetes API on https://127.0.0.1:[0-9]* (pid $pid" <<<"$tail2") $(wc -l <<<"$tail2")" "1 2"
is "logs --tail 0 prints nothing" "$("$TL" daemon logs --tail 0 | wc -c)" "0"
"$TL" daemon logs --tail x >/dev/null 2>"$W/err"
is "logs --tail x: exit 2, one line" "$? $(cat "$W/err")" \
    '2 tl: daemon logs: --tail: a number of lines, not "x"'
"$TL" daemon logs -f >"$W/follow" 2>&1 &
fpid=$!
"$TL" daemon start >/dev/null 2>&1 # a second start: no second tld, nothing logged but requests
echo "marker-$$" >>"$TL_HOME/tld.log"
wait_for 5 grep -q "marker-$$" "$W/follow" && ok "logs -f: a line appended shows" ||
    not_ok "logs -f" "$(tail -3 "$W/follow")"
kill "$fpid" 2>/dev/null
wait "$fpid" 2>/dev/null

# --- first use: the docs' commands with no image built by hand ---
[ ! -e "$TL_HOME/images/default" ] && ok "fresh home: no node image" || not_ok "fresh home: no node image"
"$TL" group create --name g1 --location local >/dev/null 2>"$W/err"
is "tl group create" "$?" "0"
t0=${EPOCHREALTIME/./}
"$TL" aks create --name c1 --resource-group g1 --node-count 0 --enable-secure-boot --enable-vtpm \
    --generate-ssh-keys -o json >"$W/aks.json" 2>"$W/aks.err"
rc=$?
t1=${EPOCHREALTIME/./}
diag "first aks create with the image build: $(((t1 - t0) / 1000)) ms"
is "aks create in a fresh home: exit 0, Succeeded" "$rc $(jq -r .provisioningState "$W/aks.json" 2>&1)" \
    "0 Succeeded"
is "the image build's progress is on stderr" \
    "$(grep -c "tl: no Gen2 node image in $TL_HOME/images yet: building it" "$W/aks.err")" "1"
is "the built image is Gen2" "$(jq -r .generation "$TL_HOME/images/default/manifest.json" 2>&1)" "2"
[ ! -e "$TL_HOME/images/default.partial" ] && ok "no partial image left" || not_ok "no partial image left"
"$TL" aks create --name c2 --resource-group g1 --node-count 0 -o json --no-ssh-key \
    >"$W/aks2.json" 2>"$W/aks2.err"
is "a second aks create builds nothing" "$? $(grep -c building "$W/aks2.err")" "0 0"

# --- stop: nothing of the home is left ---
mkdir -p "$W/bin" "$TL_HOME/nodes/n1"
for name in qemu-system-x86_64 swtpm; do
    printf '#!/bin/bash\nwhile :; do sleep 0.2; done\n' >"$W/bin/$name"
    chmod +x "$W/bin/$name"
done
"$W/bin/qemu-system-x86_64" -drive "file=$TL_HOME/nodes/n1/disk.qcow2" >/dev/null 2>&1 &
"$W/bin/swtpm" socket --tpmstate "dir=$TL_HOME/nodes/n1/tpm" >/dev/null 2>&1 &
# a process of another home is left alone
"$W/bin/swtpm" socket --tpmstate "dir=$W/other-home/nodes/n1/tpm" >/dev/null 2>&1 &
other=$!
wait_for 5 test "$(home_procs | wc -l)" -ge 3
is "before stop: tld, qemu and swtpm of the home run" "$(home_procs | awk '{print $2}' | sort | paste -sd' ')" \
    "qemu-system-x86 swtpm tld"
out=$("$TL" daemon stop 2>&1)
is "tl daemon stop: exit 0, what it stopped" "$? $out" "0 stopped tld (1) and 2 node processes of $TL_HOME"
is "after stop: no tld, QEMU or swtpm of the home" "$(home_procs)" ""
# gone, or a zombie its new parent (PID 1 here: not always quick to reap) has not collected
st_after=$(ps -o stat= -p "$pid" 2>/dev/null | tr -d ' ')
case $st_after in "" | Z*) ok "tld's pid is gone" ;; *) not_ok "tld's pid is gone" "state $st_after" ;; esac
kill -0 "$other" 2>/dev/null && ok "another home's swtpm still runs" || not_ok "another home's swtpm still runs"
kill "$other" 2>/dev/null
"$TL" daemon status >"$W/st" 2>&1
is "status after stop: exit 1, not running" "$? $(head -1 "$W/st")" "1 running   no"
is "stop again: nothing to stop" "$("$TL" daemon stop)" "nothing of $TL_HOME was running"

# --- the unit ---
unit=$(find "$W/inst" -name tld.service | head -1)
exec_start=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")
is "tld.service runs the installed tld" "$exec_start" "${PREFIX#"$W/inst"}/bin/tld"
is "tld.service is Type=notify" "$(grep -c '^Type=notify$' "$unit")" "1"
# verify checks the executable exists: point it into the DESTDIR tree
mkdir -p "$W/unit"
sed "s|^ExecStart=$exec_start|ExecStart=$PREFIX/bin/tld|" "$unit" >"$W/unit/tld.service"
check "systemd-analyze verify tld.service" systemd-analyze verify "$W/unit/tld.service"

# --- bash completion ---
compl() {
    bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _tl; echo "${COMPREPLY[*]}"' \
        _ "$PREFIX/share/bash-completion/completions/tl" "$@"
}
is "completion: tl no<TAB>" "$(compl tl no)" "node"
is "completion: tl daemon st<TAB>" "$(compl tl daemon st)" "start stop status"
is "completion: tl aks nodep<TAB>" "$(compl tl aks nodep)" "nodepool"
finish
