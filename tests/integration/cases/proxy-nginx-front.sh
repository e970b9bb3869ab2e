#!/usr/bin/env bash
# The README's nginx front for real (README "Behind a reverse proxy"):
# TLS on 127.0.0.1, proxy_pass with $proxy_add_x_forwarded_for, and
# [server] trusted_proxies = 127.0.0.1. Clients reach nginx from loopback
# addresses of their own (127.0.0.2, 127.0.0.3): A's five wrong
# challenges lock A out, also when A writes its own X-Forwarded-For; B
# still enrolls; the NDES page counts A too. A client that reaches scepgw
# directly (127.0.0.4) with a forged header is counted under its own
# address. Needs nginx (Debian nginx-light).
. "$GW_SRC/tests/integration/lib.sh"
PATH=$PATH:/usr/sbin
gw_need openssl curl nginx
gw_tmpdir
gw_start_sim
gw_init
gw_conf_set enroll max_failures_per_minute 5
gw_conf_set server trusted_proxies 127.0.0.1
SIM_ORDERS0=$(sim_orders)
gw_start

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$T/tls.key" -out "$T/tls.pem" 2>/dev/null ||
    gw_fail "cannot make the TLS certificate"
NPORT=$(gw_free_port)
mkdir -p "$T/nginx/logs"
cat >"$T/nginx.conf" <<EOF
user $(id -un);
worker_processes 1;
error_log $T/nginx.err info;
pid $T/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $T/nginx/body;
    proxy_temp_path $T/nginx/proxy;
    fastcgi_temp_path $T/nginx/fastcgi;
    uwsgi_temp_path $T/nginx/uwsgi;
    scgi_temp_path $T/nginx/scgi;
    server {
        listen 127.0.0.1:$NPORT ssl;
        server_name scep.example.com;
        ssl_certificate $T/tls.pem;
        ssl_certificate_key $T/tls.key;
        client_max_body_size 64k;
        client_body_buffer_size 64k;
        large_client_header_buffers 4 32k;
        location / {
            proxy_pass http://127.0.0.1:$GW_PORT;
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_read_timeout 120s;
            proxy_send_timeout 120s;
        }
    }
}
EOF
gw_spawn "$T/nginx.log" nginx -p "$T/nginx" -e "$T/nginx.err" \
    -c "$T/nginx.conf" -g 'daemon off;'
NGINX_PID=$GW_LAST_PID
NURL="https://127.0.0.1:$NPORT/scep"
for ((i = 0; i < 50; i++)); do
	curl -fsS -m 5 --cacert "$T/tls.pem" "$NURL?operation=GetCACaps" \
	    >/dev/null 2>&1 && break
	kill -0 "$NGINX_PID" 2>/dev/null || break
	sleep 0.1
done
curl -fsS -m 5 --cacert "$T/tls.pem" "$NURL?operation=GetCACaps" \
    >"$T/caps.txt" 2>&1 || {
	cat "$T/nginx.err" "$T/nginx.log" >&2
	gw_fail "nginx does not answer at $NURL"
}

# via NAME FROM STATUS [scepreq options]: enroll through nginx from FROM.
via() {
	local name=$1 from=$2 want=$3
	shift 3
	enroll_expect "$name" "$want" --url "$NURL" --cacert "$T/tls.pem" \
	    --interface "$from" "$@"
}
good_a=$(gw_challenge)
for i in 1 2 3 4 5; do
	via "a-guess$i" 127.0.0.2 FAILURE --challenge "$(openssl rand -hex 16)"
done
gw_assert_contains "$T/scepgw.log" "127\.0\.0\.2 txid=.*challenge refused: unknown challenge"
via a-limited 127.0.0.2 FAILURE --challenge "$good_a"
gw_assert_contains "$T/scepgw.log" "127\.0\.0\.2 txid=.*too many failed attempts from this address"
via a-forged 127.0.0.2 FAILURE --challenge "$good_a" \
    --header 'X-Forwarded-For: 127.0.0.9'
gw_assert_not_contains "$T/scepgw.log" "127\.0\.0\.9"
via b 127.0.0.3 SUCCESS --challenge "$(gw_challenge)" --cn b
gw_assert_contains "$T/scepgw.log" "127\.0\.0\.3 txid=.*ordering cn=\"b\""
gw_assert_eq 429 "$(curl -sS -o /dev/null -w '%{http_code}' --interface 127.0.0.2 \
    --cacert "$T/tls.pem" -u nobody:wrong \
    "https://127.0.0.1:$NPORT/certsrv/mscep_admin/")" "NDES login from client A"

# Straight to scepgw from 127.0.0.4, which is no trusted proxy: its
# header names B, but the failures count under 127.0.0.4.
for i in 1 2 3 4 5; do
	enroll_expect "d-guess$i" FAILURE --interface 127.0.0.4 \
	    --challenge "$(openssl rand -hex 16)" \
	    --header 'X-Forwarded-For: 127.0.0.3'
done
enroll_expect d-limited FAILURE --interface 127.0.0.4 \
    --challenge "$(gw_challenge)" --header 'X-Forwarded-For: 127.0.0.3'
gw_assert_contains "$T/scepgw.log" "127\.0\.0\.4 txid=.*too many failed attempts from this address"
via b2 127.0.0.3 SUCCESS --challenge "$(gw_challenge)" --cn b2
gw_assert_eq 2 "$(sim_orders)" "orders at epki-sim"
gw_stop
