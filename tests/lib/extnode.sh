# tests/lib/extnode.sh - an external node's vTPM served by swtpm, for a test's tl-agent.
# shellcheck shell=bash
#
# An external node (POST /v1/nodes "external": true, `tl node create --external`)
# has a vTPM state tld provisioned (TL_HOME/nodes/NODE/vtpm, its key in
# TL_HOME/keys/NODE.vtpm.key) and no VM: the test plays the machine. Source after
# tap.sh, with W (the work folder), TL_HOME, TL_BIN and the array pids (each
# swtpm's pid is added, for the test's cleanup) set.
#
#   extnode_tpm NODE [EVENTLOG]  swtpm on NODE's vTPM state, its TPM socket W/NODE/S
#                                (TCTI swtpm:path=W/NODE/S; control W/NODE/S.ctrl);
#                                with EVENTLOG, the log's events (EV_NO_ACTION aside)
#                                extended into its PCRs in every bank, as the
#                                firmware that wrote the log would have

extnode_tpm() {
	local d=$W/$1
	mkdir -p "$d"
	swtpm socket --tpm2 --tpmstate "dir=$TL_HOME/nodes/$1/vtpm" --ctrl "type=unixio,path=$d/S.ctrl" \
		--server "type=unixio,path=$d/S" --flags not-need-init,startup-clear \
		--key "file=$TL_HOME/keys/$1.vtpm.key,mode=aes-256-cbc,format=binary" \
		--log "file=$d/swtpm.log" >/dev/null 2>&1 &
	pids+=($!)
	wait_for 5 test -S "$d/S" || bail "swtpm for $1 did not start: $(tail -3 "$d/swtpm.log")"
	[ -n "${2:-}" ] || return 0
	"$TL_BIN" eventlog show "$2" --json 2>/dev/null | jq -r '.events[] | select(.type != "EV_NO_ACTION") |
		"\(.pcr):" + ([.digests | to_entries[] | "\(.key)=\(.value)"] | join(","))' >"$d/extend.txt" ||
		bail "tl eventlog show $2"
	# shellcheck disable=SC2046
	TPM2TOOLS_TCTI="swtpm:path=$d/S" tpm2_pcrextend $(cat "$d/extend.txt") || bail "tpm2_pcrextend on $1"
}
