gw_unit_test(test_common SOURCES test_common.c LIBS gw_common)
# The allocator seam of test_buf_secret_grow: common/'s realloc() and
# free() calls go through the test's wrappers.
target_link_options(test_common PRIVATE -Wl,--wrap=realloc -Wl,--wrap=free)
gw_unit_test(test_pubkey SOURCES test_pubkey.c LIBS gw_common gw_testkeys)
