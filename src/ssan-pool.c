/* gst-ssan engine: the thread pool of the engine's own loops. */
#include "ssan-pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

struct ssan_pool {
  int n_threads; /* workers + the calling thread */
  pthread_t *workers;
  pthread_mutex_t mu;
  pthread_cond_t start, done;
  uint64_t generation;
  int pending, stop;
  ssan_pool_fn fn;
  void *arg;
  int n_items;
  atomic_int next;
};

static void
pool_work (ssan_pool *pool, int thread)
{
  int i;

  while ((i = atomic_fetch_add (&pool->next, 1)) < pool->n_items)
    pool->fn (pool->arg, i, thread);
}

typedef struct {
  ssan_pool *pool;
  int thread;
} worker_arg;

static void *
pool_worker (void *data)
{
  worker_arg wa = *(worker_arg *)data;
  ssan_pool *pool = wa.pool;
  uint64_t seen = 0;

  free (data);
  pthread_mutex_lock (&pool->mu);
  for (;;) {
    while (!pool->stop && pool->generation == seen)
      pthread_cond_wait (&pool->start, &pool->mu);
    if (pool->stop)
      break;
    seen = pool->generation;
    pthread_mutex_unlock (&pool->mu);
    pool_work (pool, wa.thread);
    pthread_mutex_lock (&pool->mu);
    if (--pool->pending == 0)
      pthread_cond_signal (&pool->done);
  }
  pthread_mutex_unlock (&pool->mu);
  return NULL;
}

ssan_pool *
ssan_pool_new (int n_threads)
{
  ssan_pool *pool = calloc (1, sizeof *pool);
  int i;

  if (pool == NULL)
    return NULL;
  pool->n_threads = 1;
  pthread_mutex_init (&pool->mu, NULL);
  pthread_cond_init (&pool->start, NULL);
  pthread_cond_init (&pool->done, NULL);
  if (n_threads > 1)
    pool->workers = calloc ((size_t)n_threads - 1, sizeof (pthread_t));
  for (i = 1; pool->workers && i < n_threads; i++) {
    worker_arg *wa = malloc (sizeof *wa);
    if (wa == NULL)
      break;
    wa->pool = pool;
    wa->thread = i;
    /* a pool with fewer threads than asked still computes the same */
    if (pthread_create (&pool->workers[i - 1], NULL, pool_worker, wa) != 0) {
      free (wa);
      break;
    }
    pool->n_threads++;
  }
  return pool;
}

void
ssan_pool_free (ssan_pool *pool)
{
  int i;

  if (pool == NULL)
    return;
  pthread_mutex_lock (&pool->mu);
  pool->stop = 1;
  pthread_cond_broadcast (&pool->start);
  pthread_mutex_unlock (&pool->mu);
  for (i = 0; i < pool->n_threads - 1; i++)
    pthread_join (pool->workers[i], NULL);
  pthread_mutex_destroy (&pool->mu);
  pthread_cond_destroy (&pool->start);
  pthread_cond_destroy (&pool->done);
  free (pool->workers);
  free (pool);
}

int
ssan_pool_threads (const ssan_pool *pool)
{
  return pool ? pool->n_threads : 1;
}

void
ssan_pool_run (ssan_pool *pool, int n_items, ssan_pool_fn fn, void *arg)
{
  int i;

  if (pool == NULL || pool->n_threads == 1 || n_items == 1) {
    for (i = 0; i < n_items; i++)
      fn (arg, i, 0);
    return;
  }
  pthread_mutex_lock (&pool->mu);
  pool->fn = fn;
  pool->arg = arg;
  pool->n_items = n_items;
  atomic_store (&pool->next, 0);
  pool->pending = pool->n_threads - 1;
  pool->generation++;
  pthread_cond_broadcast (&pool->start);
  pthread_mutex_unlock (&pool->mu);
  pool_work (pool, 0);
  pthread_mutex_lock (&pool->mu);
  while (pool->pending > 0)
    pthread_cond_wait (&pool->done, &pool->mu);
  pthread_mutex_unlock (&pool->mu);
}

int
ssan_pool_pieces (const ssan_pool *pool, size_t n)
{
  size_t p = (size_t)ssan_pool_threads (pool) * 4;

  return (int)(p < n ? p : (n ? n : 1));
}
