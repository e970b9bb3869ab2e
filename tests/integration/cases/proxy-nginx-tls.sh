#!/usr/bin/env bash
# The shipped nginx front, deploy/nginx/scepgw.conf (README "Behind a
# reverse proxy"), run by Debian's nginx as this user with only its
# placeholders replaced (ports, certificate paths, upstreams, admin
# network) and `nginx -t` passing. Devices enroll over plain HTTP (a GET
# on a profile's path) and over HTTPS; the NDES page hands out a challenge
# over TLS only: over plain HTTP, in any spelling, nginx refuses it and
# scepgw never sees the request. The admin API works over TLS with its
# token, from the admin network only, and is unreachable over plain HTTP.
# Behind it, the failure limit is per client (127.0.0.2 locked out, also
# with a forged X-Forwarded-For, 127.0.0.3 not) and scepgw's log names
# those clients, not nginx. Needs nginx (Debian nginx-light).
. "$GW_SRC/tests/integration/lib.sh"
PATH=$PATH:/usr/sbin
gw_need openssl curl nginx iconv perl
gw_tmpdir
gw_start_sim
gw_init
gw_admin_enable
gw_conf_set enroll max_failures_per_minute 1
gw_conf_set server trusted_proxies 127.0.0.1
gw_conf_set "profile kiosk" ou Kiosks
PW='mdm pass:word 1'
printf '%s\n' "$PW" | "$GW_BUILD/scepgw" user add mdm -c "$GW_CONF" >"$T/user.out" 2>&1 ||
    gw_fail "user add: $(cat "$T/user.out")"
SIM_ORDERS0=$(sim_orders)
gw_start

# A test CA and the front's certificate, for 127.0.0.1.
mkdir -p "$T/tls" "$T/nginx/logs"
CA=$T/tls/ca.pem
{
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -days 1 -subj /CN=scepgw-test-ca -keyout "$T/tls/ca.key" -out "$CA" &&
	    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj /CN=127.0.0.1 -keyout "$T/tls/server.key" -out "$T/tls/server.csr" &&
	    openssl x509 -req -in "$T/tls/server.csr" -CA "$CA" -CAkey "$T/tls/ca.key" \
		-CAcreateserial -days 1 -extfile <(printf 'subjectAltName=IP:127.0.0.1\n') \
		-out "$T/tls/server.pem"
} >"$T/tls.log" 2>&1 || gw_fail "cannot make the test PKI: $(cat "$T/tls.log")"

# The shipped file, placeholders replaced; every one must be there first
# and none may be left.
SHIPPED=$GW_SRC/deploy/nginx/scepgw.conf
for p in scep.example.com /etc/nginx/tls/scep.example.com.pem \
    /etc/nginx/tls/scep.example.com.key 127.0.0.1:8080 127.0.0.1:8081 \
    192.0.2.0/24 'listen 80;' 'listen 443 ssl;' 'listen 8443 ssl;'; do
	grep -qF -- "$p" "$SHIPPED" || gw_fail "$SHIPPED has no placeholder $p"
done
P80=$(gw_free_port)
P443=$(gw_free_port)
PADM=$(gw_free_port)
V6="s/listen \[::\]:\([0-9]*\)\(.*\)$/listen [::1]:\1\2/"
[ -s /proc/net/if_inet6 ] || V6='/listen \[::\]:/d'
sed -e "s#/etc/nginx/tls/scep.example.com.pem#$T/tls/server.pem#" \
    -e "s#/etc/nginx/tls/scep.example.com.key#$T/tls/server.key#" \
    -e "s#scep.example.com#scepgw.test#" \
    -e "s#127.0.0.1:8080#127.0.0.1:$GW_PORT#" \
    -e "s#127.0.0.1:8081#${GW_ADMIN_URL#http://}#" \
    -e "s#192.0.2.0/24#127.0.0.1/32#" \
    -e "$V6" \
    -e "s#listen \(\[::1\]:\)\{0,1\}80\b#listen \1$P80#" \
    -e "s#listen \(\[::1\]:\)\{0,1\}443\b#listen \1$P443#" \
    -e "s#listen \(\[::1\]:\)\{0,1\}8443\b#listen \1$PADM#" \
    -e "s#listen \([0-9]\)#listen 127.0.0.1:\1#" \
    "$SHIPPED" >"$T/scepgw-nginx.conf"
if grep -nE 'example\.com|/etc/nginx/tls|127\.0\.0\.1:808[01]\b|192\.0\.2\.|listen (\[::\]:)?(80|443|8443)\b' \
    "$T/scepgw-nginx.conf" >&2; then
	gw_fail "a placeholder is left in the substituted config (above)"
fi
cat >"$T/nginx.conf" <<EOF
user $(id -un);
worker_processes 1;
error_log $T/nginx.err info;
pid $T/nginx.pid;
events { worker_connections 64; }
http {
    access_log $T/nginx.access;
    client_body_temp_path $T/nginx/body;
    proxy_temp_path $T/nginx/proxy;
    fastcgi_temp_path $T/nginx/fastcgi;
    uwsgi_temp_path $T/nginx/uwsgi;
    scgi_temp_path $T/nginx/scgi;
    include $T/scepgw-nginx.conf;
}
EOF
NGINX=(nginx -p "$T/nginx" -e "$T/nginx.err" -c "$T/nginx.conf")
"${NGINX[@]}" -t >"$T/nginx-t.log" 2>&1 ||
    gw_fail "nginx -t: $(cat "$T/nginx-t.log")"
gw_assert_contains "$T/nginx-t.log" "test is successful"
gw_spawn "$T/nginx.log" "${NGINX[@]}" -g 'daemon off;'
NGINX_PID=$GW_LAST_PID
HTTP=http://127.0.0.1:$P80
HTTPS=https://127.0.0.1:$P443
ADMIN=https://127.0.0.1:$PADM
for ((i = 0; i < 50; i++)); do
	gw_caps_ok "$HTTP/scep" && break
	kill -0 "$NGINX_PID" 2>/dev/null || break
	sleep 0.1
done
gw_caps_ok "$HTTP/scep" || {
	cat "$T/nginx.err" "$T/nginx.log" >&2
	gw_fail "nginx does not answer at $HTTP/scep"
}

# code URL [curl options]: the HTTP status; the body goes to $T/body.
code() {
	local url=$1
	shift
	curl -sS -m 10 --cacert "$CA" -o "$T/body" -w '%{http_code}' "$@" "$url"
}

# SCEP over plain HTTP on every path scepgw serves, no version in Server.
for p in /scep /scep/ /scep/pkiclient.exe /SCEP /scep/kiosk \
    /cgi-bin/pkiclient.exe /certsrv/mscep/mscep.dll; do
	gw_assert_eq 200 "$(code "$HTTP$p?operation=GetCACaps")" "GetCACaps at http $p"
	gw_assert_contains "$T/body" "POSTPKIOperation" "GetCACaps at http $p"
done
gw_assert_eq 404 "$(code "$HTTP/scep/nosuchprofile?operation=GetCACaps")" "unknown profile"
curl -sS -m 10 -o /dev/null -D "$T/head" --cacert "$CA" "$HTTPS/scep?operation=GetCACaps" ||
    gw_fail "HTTPS GetCACaps"
grep -qiE '^server: nginx'$'\r''?$' "$T/head" || gw_fail "Server header: $(grep -i '^server' "$T/head")"

# The NDES page over plain HTTP: refused by nginx in every spelling, so
# neither the password reaches scepgw nor a challenge comes back.
for p in /certsrv/mscep_admin/ /certsrv/mscep_admin /CertSrv/MSCEP_ADMIN/default.aspx \
    /%63ertsrv/mscep_admin/ /scep/../certsrv/mscep_admin/ /scep/..%2fcertsrv/mscep_admin/; do
	c=$(code "$HTTP$p" --path-as-is -u "mdm:$PW")
	[[ $c =~ ^(400|403|404)$ ]] || gw_fail "plain HTTP $p: status $c"
	! grep -qa 'password' "$T/body" || gw_fail "plain HTTP $p answered: $(cat "$T/body")"
done
gw_assert_eq 403 "$(code "$HTTP/certsrv/mscep_admin/" -u "mdm:$PW")" "NDES page over HTTP"
gw_assert_contains "$T/body" "HTTPS only"
gw_assert_not_contains "$T/scepgw.log" "ndes:"

# Over TLS: a challenge, and a device enrolls with it over HTTPS.
gw_assert_eq 200 "$(code "$HTTPS/certsrv/mscep_admin/" -u "mdm:$PW")" "NDES page over HTTPS"
iconv -f UTF-16 -t UTF-8 "$T/body" >"$T/page.txt" || gw_fail "NDES page is not UTF-16"
c1=$(perl -ne 'print "$1\n" if /The enrollment challenge password is: <B> (\S+)/i' "$T/page.txt")
[[ $c1 =~ ^[0-9A-F]{32}$ ]] || gw_fail "no challenge on the page: $(cat "$T/page.txt")"
enroll_expect tls SUCCESS --url "$HTTPS/scep" --cacert "$CA" --challenge "$c1" --cn tls
# Over plain HTTP, by GET (the message in the URL), on a profile's path.
enroll_expect plain SUCCESS --url "$HTTP/scep/kiosk" --get \
    --challenge "$(gw_challenge --profile kiosk)" --cn plain
gw_assert_eq 2 "$(sim_orders)" "orders at epki-sim"

# The admin API: over TLS with the token; from outside the admin network
# nginx refuses; over plain HTTP nothing answers it.
H="Authorization: Bearer $TOKEN"
gw_assert_eq 201 "$(code "$ADMIN/api/v1/challenges" -H "$H" -d '{"count":1}')" "admin POST over TLS"
gw_assert_contains "$T/body" '"challenges":\[\{"id":'
gw_assert_eq 200 "$(code "$ADMIN/api/v1/challenges?state=unused" -H "$H")" "admin GET over TLS"
gw_assert_eq 401 "$(code "$ADMIN/api/v1/challenges" -H "Authorization: Bearer x$TOKEN")" "wrong token"
gw_assert_eq 403 "$(code "$ADMIN/api/v1/challenges" -H "$H" --interface 127.0.0.2)" \
    "admin API from outside the admin network"
gw_assert_eq 400 "$(code "http://127.0.0.1:$PADM/api/v1/challenges" -H "$H" -d '{"count":1}')" \
    "plain HTTP to the admin port"
gw_assert_not_contains "$T/body" "challenges"
gw_assert_eq 404 "$(code "$HTTP/api/v1/challenges" -H "$H" -d '{"count":1}')" "admin path on port 80"
gw_assert_eq 404 "$(code "$HTTPS/api/v1/challenges" -H "$H" -d '{"count":1}')" "admin path on port 443"
gw_assert_eq 1 "$(grep -c 'admin POST /api/v1/challenges status=' "$T/scepgw.log" || true)" \
    "admin POSTs that reached scepgw"

# The failure limit ([enroll] max_failures_per_minute = 1), per client
# behind nginx: A (127.0.0.2) is locked out after a wrong challenge, also
# when it writes its own X-Forwarded-For; B (127.0.0.3) still enrolls;
# the NDES page counts A.
good=$(gw_challenge)
enroll_expect a-guess FAILURE --url "$HTTP/scep" --interface 127.0.0.2 \
    --challenge "$(openssl rand -hex 16)"
enroll_expect a-limited FAILURE --url "$HTTPS/scep" --cacert "$CA" \
    --interface 127.0.0.2 --challenge "$good"
enroll_expect a-forged FAILURE --url "$HTTP/scep" --interface 127.0.0.2 \
    --challenge "$good" --header 'X-Forwarded-For: 127.0.0.9'
gw_assert_eq 429 "$(code "$HTTPS/certsrv/mscep_admin/" -u "mdm:$PW" --interface 127.0.0.2)" \
    "NDES login from client A"
enroll_expect b SUCCESS --url "$HTTPS/scep" --cacert "$CA" --interface 127.0.0.3 \
    --challenge "$good" --cn b
gw_assert_contains "$T/scepgw.log" "127\.0\.0\.2 txid=.*challenge refused: unknown challenge"
gw_assert_contains "$T/scepgw.log" "127\.0\.0\.2 txid=.*too many failed attempts from this address"
gw_assert_contains "$T/scepgw.log" "127\.0\.0\.2 ndes: user=mdm: too many failed logins"
gw_assert_contains "$T/scepgw.log" "127\.0\.0\.3 txid=.*ordering cn=\"b\""
gw_assert_not_contains "$T/scepgw.log" "127\.0\.0\.9"
gw_assert_not_contains "$T/scepgw.log" "127\.0\.0\.1 (txid=.*challenge refused|txid=.*too many|ndes: .*too many)"
gw_assert_eq 3 "$(sim_orders)" "orders at epki-sim"
gw_stop
