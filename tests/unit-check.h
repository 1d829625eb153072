/* CHECK for the plain-C unit tests: counts, and on failure prints where and
 * why; main returns n_failed != 0. */
#ifndef SSAN_UNIT_CHECK_H
#define SSAN_UNIT_CHECK_H

#include <stdio.h>

static int n_passed, n_failed;

#define CHECK(cond, ...)                                                       \
  do {                                                                         \
    if (cond) {                                                                \
      n_passed++;                                                              \
    } else {                                                                   \
      n_failed++;                                                              \
      fprintf (stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                    \
      fprintf (stderr, __VA_ARGS__);                                           \
      fputc ('\n', stderr);                                                    \
    }                                                                          \
  } while (0)

#endif /* SSAN_UNIT_CHECK_H */
