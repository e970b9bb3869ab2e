#!/usr/bin/env bash
# GlobalSign's SerialNumber format is undocumented. With epki-sim writing
# it upper-case hex, lower-case hex, colon-separated hex or decimal
# (sim.conf serial_format), an order whose reply is dropped is found by
# the reconciler (GetOrders) and delivered; the SerialNumber is compared
# with the certificate's serial only after normalising, so no mismatch is
# logged, and the serial the gateway stores is the certificate's
# (upper-case hex, as `scepgw cert list` shows it).
. "$GW_SRC/tests/integration/cases/faults.bash"
gw_tmpdir
mkdir -p "$T/epki-sim"
printf 'serial_format = upper\n' >"$T/epki-sim/sim.conf"
fault_up

for fmt in upper lower colon decimal; do
	if [ "$fmt" != upper ]; then
		gw_stop
		kill -TERM "$SIM_PID"
		wait "$SIM_PID" 2>/dev/null || true
		printf 'serial_format = %s\n' "$fmt" >"$T/epki-sim/sim.conf"
		gw_start_sim
		gw_conf_set epki url "$SIM_URL"
		gw_start
	fi
	sim_fault 'drop op=OrderAndIssueCertificate count=1 ms=0'
	device "serial-$fmt" PENDING
	sim_call GetOrders QueryRequestHeader \
	    "<OrderQueryParam><CommonName>serial-$fmt</CommonName></OrderQueryParam><OrdersQueryOption><ReturnCertificateInfo>true</ReturnCertificateInfo></OrdersQueryOption>" \
	    "$T/orders-$fmt.xml"
	sn=$(sed -n 's:.*<SerialNumber>\([^<]*\)</SerialNumber>.*:\1:p' "$T/orders-$fmt.xml")
	case $fmt in
	upper) [[ $sn =~ ^[0-9A-F]+$ ]] ;;
	lower) [[ $sn =~ ^[0-9a-f]+$ ]] ;;
	colon) [[ $sn =~ ^[0-9a-f]{2}(:[0-9a-f]{2})+$ ]] ;;
	decimal) [[ $sn =~ ^[0-9]+$ ]] ;;
	esac || gw_fail "SerialNumber '$sn' is not $fmt"
	want=$(openssl x509 -in "$T/serial-$fmt.pem" -noout -serial | sed 's/^serial=//')
	"$GW_BUILD/scepgw" cert list -c "$GW_CONF" >"$T/certs.txt"
	gw_assert_contains "$T/certs.txt" "^0*${want#0} " "stored serial of serial-$fmt"
	# scepgw.log starts afresh with each gw_start.
	gw_assert_contains "$T/scepgw.log" "serial-$fmt-txid: reconciled: order .* was issued"
	gw_assert_not_contains "$T/scepgw.log" "is not the serial of its certificate"
done
assert_ledger
gw_stop
