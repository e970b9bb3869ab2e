# server/enroll/: the enrollment state machine through its EPKI
# transport seam, with a real RA, database and SCEP client. One
# executable per topic, sharing test_server_common.c (the fixture) and
# test_enroll_common.c (one PKIOperation and its CertRep): orders and
# their answers (test_enroll), failing posts, timers, retries and the
# drain (test_enroll_async), identity rules and static challenges
# (test_enroll_ident).
if(TARGET gw_enroll AND TARGET gw_scepclient)
	foreach(_t enroll enroll_async enroll_ident)
		gw_unit_test(test_${_t}
			SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_${_t}.c
				${CMAKE_CURRENT_LIST_DIR}/test_enroll_common.c
				${CMAKE_CURRENT_LIST_DIR}/test_server_common.c
			LIBS gw_enroll gw_scepclient gw_epki gw_db gw_scep
				gw_common Threads::Threads gw_testkeys)
	endforeach()
endif()
