# server/: the enrollment state machine (enroll.c) through its EPKI
# transport seam, with a real RA, database and SCEP client.
if(TARGET gw_server AND TARGET gw_scepclient)
	gw_unit_test(test_enroll
		SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_enroll.c
			${CMAKE_CURRENT_LIST_DIR}/test_server_common.c
		LIBS gw_server gw_scepclient gw_epki gw_db gw_scep gw_common
			Threads::Threads)
endif()
