/*
 * Days since 1970-01-01 of a proleptic Gregorian date, counted in eras of
 * 400 years (146,097 days each), so that no table and no time zone is
 * needed (gw_date.h).
 */
#include "gw_date.h"

/*
 * Days from 1970-01-01 to y-m-d (m 1..12, d 1..31; not checked against
 * the month): negative before 1970.
 */
long
gw_days_from_civil(long y, long m, long d)
{
	long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}
