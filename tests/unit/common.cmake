gw_unit_test(test_common SOURCES test_common.c LIBS gw_common)
gw_unit_test(test_pubkey SOURCES test_pubkey.c LIBS gw_common)
