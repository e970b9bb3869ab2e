/*
 * Calendar arithmetic without the C library's time zone (timegm() is not
 * C11 and mktime() reads TZ).
 */
#ifndef GW_DATE_H
#define GW_DATE_H

long gw_days_from_civil(long y, long m, long d);

#endif
