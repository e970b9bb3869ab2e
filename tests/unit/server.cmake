# server/enroll/: the enrollment state machine through its EPKI
# transport seam, with a real RA, database and SCEP client.
if(TARGET gw_enroll AND TARGET gw_scepclient)
	gw_unit_test(test_enroll
		SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_enroll.c
			${CMAKE_CURRENT_LIST_DIR}/test_server_common.c
		LIBS gw_enroll gw_scepclient gw_epki gw_db gw_scep gw_common
			Threads::Threads)
endif()
