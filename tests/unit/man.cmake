# deploy/man/scepgw.conf.5 against the config key tables (server/config/).
if(TARGET gw_config)
	gw_unit_test(test_man_conf
		SOURCES test_man_conf.c
		LIBS gw_config)
endif()
