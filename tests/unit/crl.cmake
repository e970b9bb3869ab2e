# server/crl.c: the GetCRL cache's offline parts (CRL decoding and
# verification, the CDP lookup) and its failure paths.
if(TARGET gw_server AND TARGET gw_scepclient)
	gw_unit_test(test_crl
		SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_crl.c
			${CMAKE_CURRENT_LIST_DIR}/test_scep_common.c
		LIBS gw_server gw_scepclient gw_scep gw_common Threads::Threads)
endif()
