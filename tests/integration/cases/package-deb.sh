#!/usr/bin/env bash
# ctest-labels: long
# The Debian package (README "Installing the Debian package"), on this
# machine: deploy/package.sh packages the current build folder, lintian
# finds no error; dpkg -i creates the system user scepgw, /etc/scepgw
# (root:root 0755) and /var/lib/scepgw (scepgw:scepgw 0700); the instance
# is set up as README says (`init --user scepgw`, which gives the service
# user its files, then `scepgw check` as scepgw),
# /usr/bin/scepgw serves as scepgw and enrolls a device. An upgrade to a
# higher version and `dpkg -r` leave the config, RA key, secrets and
# database byte for byte; `dpkg -P` removes /var/lib/scepgw and says so.
# Needs root; the machine is left as found, even on failure.
. "$GW_SRC/tests/integration/lib.sh"
[ "$(id -u)" = 0 ] || gw_skip "needs root (dpkg -i)"
gw_need dpkg dpkg-deb dpkg-shlibdeps lintian cpack adduser runuser setpriv \
    openssl curl sha256sum
if dpkg-query -W -f '${db:Status-Status}' scepgw 2>/dev/null |
    grep -qv '^not-installed$'; then
	gw_skip "a scepgw package is installed here: not ours to replace"
fi
for d in /etc/scepgw /var/lib/scepgw; do
	[ ! -e "$d" ] || gw_skip "$d exists: not ours to touch"
done
had_user=$(getent passwd scepgw || true)

# Whatever happens: no package, no folders, no user we created.
pkg_restore() {
	if dpkg-query -W scepgw >/dev/null 2>&1; then
		dpkg -P scepgw
	fi
	rm -rf /etc/scepgw /var/lib/scepgw
	if [ -z "$had_user" ] && getent passwd scepgw >/dev/null; then
		userdel scepgw
		getent group scepgw >/dev/null && groupdel scepgw
	fi
	return 0
}
gw_tmpdir
GW__CLEANUP_HOOKS+=(pkg_restore)

# as_gw COMMAND...: run as the service user, as README says to.
as_gw() {
	runuser -u scepgw -- "$@"
}

# Build and lint the package of this build folder.
"$GW_SRC/deploy/package.sh" --build-dir "$GW_BUILD" --out "$T/deb1" \
    >"$T/package1.log" 2>&1 || gw_fail "deploy/package.sh failed (package1.log)"
deb1=$(tail -n 1 "$T/package1.log")
[ -f "$deb1" ] || gw_fail "package.sh printed no .deb: $deb1"
arch=$(dpkg --print-architecture)
ver=$(dpkg-deb -f "$deb1" Version)
gw_assert_eq "$T/deb1/scepgw_${ver}_$arch.deb" "$deb1" "package file name"
case $ver in *-1) ;; *) gw_fail "Debian revision of $ver is not 1" ;; esac
dpkg-deb -f "$deb1" Depends >"$T/depends"
for lib in adduser libssl3 libmicrohttpd12 libcurl4 libxml2 libsqlite3-0; do
	gw_assert_contains "$T/depends" "(^|, )$lib( |,|$)" "Depends"
done
dpkg-deb -c "$deb1" >"$T/contents"
gw_assert_not_contains "$T/contents" "epki-sim" "package contents"
gw_assert_contains "$T/contents" " \./usr/bin/scepgw$"
gw_assert_contains "$T/contents" " \./lib/systemd/system/scepgw\.service$"
gw_assert_contains "$T/contents" " \./usr/share/doc/scepgw/copyright$"
gw_assert_contains "$T/contents" " \./usr/share/doc/scepgw/changelog\.Debian\.gz$"
gw_assert_contains "$T/contents" \
    " \./usr/share/doc/scepgw/examples/nginx/scepgw\.conf$"
for page in "$GW_SRC"/deploy/man/*.[1-8]; do
	[ -f "$page" ] || continue
	case ${page##*/} in epki-sim.*) continue ;; esac # not packaged
	gw_assert_contains "$T/contents" \
	    " \./usr/share/man/man${page##*.}/${page##*/}\.gz$" "man page"
done
lintian --tag-display-limit 0 "$deb1" >"$T/lintian.log" 2>&1 || true
gw_assert_not_contains "$T/lintian.log" "^E: " "lintian"

# Install: the user, the folders, the unit with the package's paths.
dpkg -i "$deb1" >"$T/dpkg-i1.log" 2>&1 || gw_fail "dpkg -i failed (dpkg-i1.log)"
getent passwd scepgw >"$T/passwd" || gw_fail "no user scepgw"
IFS=: read -r _ _ uid gid _ home shell <"$T/passwd"
[ "$uid" -lt 1000 ] || gw_fail "scepgw is not a system user (uid $uid)"
gw_assert_eq "scepgw" "$(getent group "$gid" | cut -d: -f1)" "group of scepgw"
gw_assert_eq /var/lib/scepgw "$home" "home of scepgw"
gw_assert_eq /usr/sbin/nologin "$shell" "shell of scepgw"
gw_assert_eq "root:root 755" "$(stat -c '%U:%G %a' /etc/scepgw)" "/etc/scepgw"
gw_assert_eq "scepgw:scepgw 700" "$(stat -c '%U:%G %a' /var/lib/scepgw)" \
    "/var/lib/scepgw"
gw_assert_contains /lib/systemd/system/scepgw.service \
    "^ExecStart=/usr/bin/scepgw serve -c /etc/scepgw/scepgw\.conf$"
gw_assert_not_contains /lib/systemd/system/scepgw.service "/usr/local"
gw_assert_contains /var/lib/dpkg/info/scepgw.conffiles \
    "^/etc/scepgw/scepgw\.conf\.example$"
gw_assert_eq "" "$(find /etc/systemd/system -name scepgw.service 2>/dev/null)" \
    "the unit is not enabled on a fresh install"

# Set up an instance as README "Installing the Debian package" says,
# against this case's epki-sim.
gw_start_sim
install -m 600 /dev/null /etc/scepgw/epki.password
printf '%s\n' "$GW_SIM_PASSWORD" >/etc/scepgw/epki.password
scepgw init --user scepgw --db-path /var/lib/scepgw/scepgw.db --dir /etc/scepgw \
    --epki-url "$SIM_URL" \
    --epki-user "$GW_SIM_USER" --epki-password-file /etc/scepgw/epki.password \
    --profile-id "$GW_SIM_PROFILE" --ca-chain "$SIM_DIR/ca-chain.pem" \
    >"$T/init.log" 2>&1 || gw_fail "scepgw init failed (init.log)"
# No hand-over: init made every file with its final owner and mode.
for f in scepgw.conf ra.pem ca-chain.pem; do
	gw_assert_eq "root:root 644" "$(stat -c '%U:%G %a' "/etc/scepgw/$f")" "$f"
done
for f in /etc/scepgw/ra.key /etc/scepgw/epki.password /var/lib/scepgw/scepgw.db; do
	gw_assert_eq "scepgw:scepgw 600" "$(stat -c '%U:%G %a' "$f")" "$f"
done
gw_assert_eq "root:root 755" "$(stat -c '%U:%G %a' /etc/scepgw)" "/etc/scepgw after init"
GW_CONF=/etc/scepgw/scepgw.conf
gw_assert_eq /var/lib/scepgw/scepgw.db "$(gw_conf_get db path)" "[db] path"
port=$(gw_free_port)
gw_conf_set server listen "127.0.0.1:$port"
as_gw scepgw check >"$T/check.log" 2>&1 ||
    gw_fail "scepgw check as scepgw failed (check.log)"

# Serve as the service user (no systemd here) and enroll a device.
gw_spawn "$T/scepgw.log" setpriv --reuid scepgw --regid scepgw --init-groups \
    /usr/bin/scepgw serve -c "$GW_CONF"
GW_PID=$GW_LAST_PID
GW_URL=http://127.0.0.1:$port/scep
poll_caps() {
	local i
	for ((i = 0; i < GW_START_TIMEOUT * 10; i++)); do
		gw_caps_ok "$GW_URL" && return 0
		kill -0 "$GW_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
poll_caps || gw_fail "/usr/bin/scepgw serve did not answer at $GW_URL"
gw_assert_eq "$uid" "$(ps -o uid= -p "$GW_PID" | tr -d ' ')" "uid of serve"
challenge=$(as_gw scepgw challenge new) || gw_fail "challenge new as scepgw"
enroll_expect device SUCCESS --challenge "$challenge" --cn device
serial=$(openssl x509 -in "$T/device.pem" -noout -serial | cut -d= -f2)
gw_stop

# sums: the instance's files, owner, mode and content.
sums() {
	local f
	for f in /etc/scepgw/scepgw.conf /etc/scepgw/ra.key /etc/scepgw/ra.pem \
	    /etc/scepgw/ca-chain.pem /etc/scepgw/epki.password \
	    /var/lib/scepgw/scepgw.db; do
		printf '%s %s ' "$f" "$(stat -c '%U:%G %a' "$f")"
		sha256sum <"$f"
	done
	stat -c '%n %U:%G %a' /etc/scepgw /var/lib/scepgw
}
# cert_listed: the enrolled certificate is in the database.
cert_listed() {
	as_gw scepgw cert list >"$T/certs.log" 2>&1 || return 1
	grep -qi -- "$serial" "$T/certs.log"
}
sums >"$T/sums0"
cert_listed || gw_fail "serial $serial not in scepgw cert list"

# Upgrade to a higher version: nothing of the instance changes.
ver2=${ver%-1}.1
dpkg --compare-versions "$ver2-1" gt "$ver" || gw_fail "$ver2-1 is not above $ver"
"$GW_SRC/deploy/package.sh" --build-dir "$GW_BUILD" --out "$T/deb2" \
    --version "$ver2" >"$T/package2.log" 2>&1 ||
    gw_fail "deploy/package.sh --version failed (package2.log)"
deb2=$(tail -n 1 "$T/package2.log")
dpkg-deb --fsys-tarfile "$deb2" |
    tar -xO ./usr/share/doc/scepgw/changelog.Debian.gz | gzip -dc >"$T/changelog2"
gw_assert_eq "scepgw ($ver2-1) unstable; urgency=medium" "$(head -n 1 "$T/changelog2")" \
    "changelog of the upgrade"
dpkg -i "$deb2" >"$T/dpkg-i2.log" 2>&1 || gw_fail "dpkg -i (upgrade) failed"
gw_assert_eq "$ver2-1" "$(dpkg-query -W -f '${Version}' scepgw)" "upgraded version"
sums >"$T/sums1"
cmp -s "$T/sums0" "$T/sums1" ||
    gw_fail "the upgrade changed the instance: $(diff "$T/sums0" "$T/sums1")"
cert_listed || gw_fail "serial $serial not listed after the upgrade"

# Remove: the program goes, the instance and its database stay.
dpkg -r scepgw >"$T/dpkg-r.log" 2>&1 || gw_fail "dpkg -r failed (dpkg-r.log)"
[ ! -e /usr/bin/scepgw ] || gw_fail "dpkg -r left /usr/bin/scepgw"
sums >"$T/sums2"
cmp -s "$T/sums0" "$T/sums2" ||
    gw_fail "dpkg -r changed the instance: $(diff "$T/sums0" "$T/sums2")"
[ -f /etc/scepgw/scepgw.conf.example ] || gw_fail "dpkg -r removed the conffile"

# Purge: /var/lib/scepgw goes, after the message; /etc/scepgw's instance
# and the user stay (and say so).
dpkg -P scepgw >"$T/dpkg-p.log" 2>&1 || gw_fail "dpkg -P failed (dpkg-p.log)"
gw_assert_contains "$T/dpkg-p.log" "purge: removing /var/lib/scepgw"
gw_assert_contains "$T/dpkg-p.log" "purge: keeping /etc/scepgw"
[ ! -e /var/lib/scepgw ] || gw_fail "dpkg -P left /var/lib/scepgw"
[ ! -e /etc/scepgw/scepgw.conf.example ] || gw_fail "dpkg -P left the conffile"
[ -f /etc/scepgw/ra.key ] || gw_fail "dpkg -P removed the RA key in /etc/scepgw"
getent passwd scepgw >/dev/null || gw_fail "dpkg -P removed the user scepgw"
