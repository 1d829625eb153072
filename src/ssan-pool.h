/* gst-ssan engine: a small pool of threads for the engine's own loops
 * (internal, not installed). */
#ifndef SSAN_POOL_H
#define SSAN_POOL_H

#include <stddef.h>

/* ssan_pool_run calls fn(arg, item, thread) for every item in [0, n_items),
 * spread over the pool's threads (thread 0 is the caller; thread <
 * ssan_pool_threads) and returns when all are done.  A NULL pool runs
 * everything in the caller. */
typedef struct ssan_pool ssan_pool;
typedef void (*ssan_pool_fn) (void *arg, int item, int thread);

ssan_pool *ssan_pool_new (int n_threads);
void ssan_pool_free (ssan_pool *pool);
int ssan_pool_threads (const ssan_pool *pool);
void ssan_pool_run (ssan_pool *pool, int n_items, ssan_pool_fn fn, void *arg);

/* About 4 pieces per thread for [0, n); piece i is
 * [SSAN_PIECE_BEGIN (i, n, pieces), SSAN_PIECE_BEGIN (i + 1, n, pieces)). */
int ssan_pool_pieces (const ssan_pool *pool, size_t n);
#define SSAN_PIECE_BEGIN(i, n, pieces) ((size_t)(i) * (n) / (size_t)(pieces))

#endif /* SSAN_POOL_H */
