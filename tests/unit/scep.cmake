# Unit tests of gw_scep: one executable per concern, all linking the
# test-only SCEP client (tests/tools/scep_client.c) to build requests and
# check replies.
if(TARGET gw_scepclient)
	foreach(_t msg certrep query csr leaf)
		gw_unit_test(test_scep_${_t}
			SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_scep_${_t}.c
				${CMAKE_CURRENT_LIST_DIR}/test_scep_common.c
			LIBS gw_scepclient gw_scep gw_common gw_testkeys)
	endforeach()
endif()
