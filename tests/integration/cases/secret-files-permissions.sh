#!/usr/bin/env bash
# Secret files with any group or other permission bit are refused at
# start, each named in the message: the RA key, the EPKI password file and
# the admin token (config-errors-named.sh covers ra.key 0644 only); and
# each of them given as a symbolic link.
. "$GW_SRC/tests/integration/lib.sh"
gw_tmpdir
gw_start_sim
gw_init
(umask 077 && openssl rand -hex 24 >"$GW_DIR/admin.token")
gw_conf_set admin listen 127.0.0.1:0
gw_conf_set admin token_file admin.token

# refused FILE MODE REGEX: serve must exit non-zero naming the file.
refused() {
	local rc=0
	chmod "$2" "$GW_DIR/$1"
	gw_run "$T/perm.out" 30 "$GW_BUILD/scepgw" serve -c "$GW_CONF" || rc=$?
	chmod 600 "$GW_DIR/$1"
	[ "$rc" -ne 0 ] || gw_fail "serve started with $1 mode $2"
	gw_assert_contains "$T/perm.out" "$3" "$1 mode $2"
}
for mode in 640 604 620 602 660; do
	refused ra.key "$mode" 'ra\.key'
	refused epki.password "$mode" 'epki\.password'
	refused admin.token "$mode" 'admin\.token'
done
# All 0600: it starts.
gw_start
gw_stop

# A secret file given as a symbolic link (even to a 0600 file of ours) is
# refused, not followed, and named.
symlinked() {
	local rc=0
	mv "$GW_DIR/$1" "$GW_DIR/$1.real"
	ln -s "$1.real" "$GW_DIR/$1"
	gw_run "$T/link.out" 30 "$GW_BUILD/scepgw" serve -c "$GW_CONF" || rc=$?
	rm "$GW_DIR/$1"
	mv "$GW_DIR/$1.real" "$GW_DIR/$1"
	[ "$rc" -ne 0 ] || gw_fail "serve started with $1 a symbolic link"
	gw_assert_contains "$T/link.out" "$2.*symbolic link" "$1 symlink"
}
symlinked ra.key 'ra\.key'
symlinked epki.password 'epki\.password'
symlinked admin.token 'admin\.token'
gw_start
gw_stop
