#include "base/time.h"

#include <cstdio>
#include <ctime>

namespace nsbox {

std::string now_rfc3339() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  gmtime_r(&ts.tv_sec, &t);
  // Not strftime: it loads the time zone file (tzset) for a time that is UTC anyway.
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", t.tm_year + 1900, t.tm_mon + 1,
                t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ts.tv_nsec);
  return buf;
}

}  // namespace nsbox
