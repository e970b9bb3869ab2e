# db/: one executable per topic, sharing the fixture of test_db_common.c:
# schema, challenges and db_txn_start() (test_db); state updates,
# certificates and renewals (test_db_txn); races and group commit
# (test_db_race); NDES users and admin listings (test_db_user);
# incarnations, leases, takeover and the order gate (test_db_lease).
foreach(_t db db_txn db_race db_user db_lease)
	gw_unit_test(test_${_t}
		SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_${_t}.c
			${CMAKE_CURRENT_LIST_DIR}/test_db_common.c
		LIBS gw_db gw_common Threads::Threads)
endforeach()
