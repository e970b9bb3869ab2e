# server/enroll/crl.c: the GetCRL cache's offline parts (CRL decoding and
# verification, the CDP lookup) and its failure paths.
if(TARGET gw_enroll AND TARGET gw_scepclient)
	gw_unit_test(test_crl
		SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_crl.c
			${CMAKE_CURRENT_LIST_DIR}/test_scep_common.c
		LIBS gw_enroll gw_scepclient gw_scep gw_common Threads::Threads
			gw_testkeys)
endif()
