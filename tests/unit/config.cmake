# server/config/: the key table, loading and writing a config.
if(TARGET gw_config)
	gw_unit_test(test_config
		SOURCES test_config.c test_config_common.c
		LIBS gw_config)
	gw_unit_test(test_config_bad
		SOURCES test_config_bad.c test_config_common.c
		LIBS gw_config)
endif()
if(TARGET gw_config)
	gw_unit_test(test_config_intune
		SOURCES test_config_intune.c test_config_common.c
		LIBS gw_config gw_testkeys)
endif()
