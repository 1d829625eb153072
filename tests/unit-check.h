/* CHECK for the plain-C unit tests: counts, and on failure prints where and
 * why; main returns n_failed != 0.  A test checking from several threads
 * defines UNIT_CHECK_LOCK () and UNIT_CHECK_UNLOCK () before including. */
#ifndef SSAN_UNIT_CHECK_H
#define SSAN_UNIT_CHECK_H

#include <stdio.h>

#ifndef UNIT_CHECK_LOCK
#define UNIT_CHECK_LOCK()
#define UNIT_CHECK_UNLOCK()
#endif

static int n_passed, n_failed;

#define CHECK(cond, ...)                                                       \
  do {                                                                         \
    int ok_ = (cond) ? 1 : 0;                                                  \
    UNIT_CHECK_LOCK ();                                                        \
    if (ok_) {                                                                 \
      n_passed++;                                                              \
    } else {                                                                   \
      n_failed++;                                                              \
      fprintf (stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                    \
      fprintf (stderr, __VA_ARGS__);                                           \
      fputc ('\n', stderr);                                                    \
    }                                                                          \
    UNIT_CHECK_UNLOCK ();                                                      \
  } while (0)

#endif /* SSAN_UNIT_CHECK_H */
