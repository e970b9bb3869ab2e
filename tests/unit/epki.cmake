# Unit tests for epki/: the SOAP schema code over hand-written response
# fixtures, orders through a fake transport, and the libcurl multi client
# end to end against epki-sim on loopback.
if(TARGET gw_epki)
	gw_unit_test(test_epki_soap SOURCES test_epki_soap.c test_epki_fixture.c
		LIBS gw_epki gw_common)
	gw_unit_test(test_epki_soap_odd
		SOURCES test_epki_soap_odd.c test_epki_fixture.c
		LIBS gw_epki gw_common)
	gw_unit_test(test_epki_order SOURCES test_epki_order.c
		LIBS gw_epki gw_common)
	gw_unit_test(test_epki_query SOURCES test_epki_query.c test_epki_fixture.c
		LIBS gw_epki gw_common)
	if(TARGET epki-sim)
		gw_unit_test(test_epki_client SOURCES test_epki_client.c test_spawn.c
			LIBS gw_epki gw_common gw_testkeys)
		add_dependencies(test_epki_client epki-sim)
		gw_unit_test(test_epki_sim SOURCES test_epki_sim.c test_epki_sim_common.c test_spawn.c
			LIBS gw_epki gw_common)
		add_dependencies(test_epki_sim epki-sim)
		gw_unit_test(test_epki_sim_format SOURCES test_epki_sim_format.c test_epki_sim_common.c test_spawn.c
			LIBS gw_epki gw_common)
		add_dependencies(test_epki_sim_format epki-sim)
		gw_unit_test(test_epki_sim_fidelity SOURCES test_epki_sim_fidelity.c test_epki_sim_common.c test_spawn.c
			LIBS gw_epki gw_common)
		add_dependencies(test_epki_sim_fidelity epki-sim)
	endif()
endif()
