# db/: schema, challenges, the enrollment state machine, races.
gw_unit_test(test_db SOURCES test_db.c LIBS gw_db gw_common Threads::Threads)
