# server/enroll/ratelimit.c, compiled on its own: the per-address failure limiter.
gw_unit_test(test_ratelimit
	SOURCES ${CMAKE_SOURCE_DIR}/server/enroll/ratelimit.c test_ratelimit.c
	LIBS gw_common Threads::Threads)
target_include_directories(test_ratelimit PRIVATE ${CMAKE_SOURCE_DIR}/server/enroll)
