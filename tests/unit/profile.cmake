# server/config/profile.c with config.c: [profile NAME] sections.
if(TARGET gw_config)
	gw_unit_test(test_profile
		SOURCES test_profile.c
		LIBS gw_config)
endif()
