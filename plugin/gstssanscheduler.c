/* gst-ssan — loaded models and the inference scheduler shared by elements.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstssanscheduler.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

GST_DEBUG_CATEGORY_STATIC (gst_ssan_scheduler_debug);
#define GST_CAT_DEFAULT gst_ssan_scheduler_debug

#define DEFAULT_MAX_BATCH 4
#define MAX_MAX_BATCH 64
/* Batches pay where one window is small: its GEMMs are thin and per-op
 * costs dominate (the demo model, 8 clients: 2.0-2.3 CPU ms per window in
 * batches of 4 against 2.5-3.0 alone).  Beyond 4 they gained nothing in
 * whole pipelines (8 demo streams: 157-162 windows/s with batches of up to
 * 4, 145-160 up to 8) and cost 1.5 MiB each.  A window of 8 frames at
 * 224x224 fills the kernels by itself: batches of 2 saved 2 % of the CPU
 * time (971 vs 990 ms) and doubled the peak memory (685 vs 346 MiB).
 * (ssan-sched-bench and scripts/bench-streams.sh, 2-vCPU Zen 4.)  So by
 * default a batch holds at most 4 windows and this many input pixels per
 * channel (the rule ssan-infer follows too). */
#define BATCH_PIXELS (8 * 224 * 224)

static void
gst_ssan_scheduler_init_debug (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done)) {
    GST_DEBUG_CATEGORY_INIT (gst_ssan_scheduler_debug, "ssanscheduler", 0,
        "SSAN model cache and inference scheduler");
    g_once_init_leave (&done, 1);
  }
}

/* ---- model cache ---- */

struct _GstSsanModelRef {
  gchar *path; /* canonical */
  ssan_model *model;
  struct stat st;  /* the file when it was loaded */
  gint refcount;   /* cache_lock */
  gboolean cached; /* the cache's entry for path (cache_lock) */
};

static GMutex cache_lock;
static GHashTable *cache;

static gboolean
gst_ssan_model_file_same (const struct stat *a, const struct stat *b)
{
  return a->st_dev == b->st_dev && a->st_ino == b->st_ino
         && a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec
         && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

gboolean
gst_ssan_model_ref_is_current (const GstSsanModelRef *ref)
{
  struct stat st;

  return stat (ref->path, &st) == 0 && gst_ssan_model_file_same (&st, &ref->st);
}

GstSsanModelRef *
gst_ssan_model_ref_acquire (const gchar *path, ssan_error *err)
{
  GstSsanModelRef *ref;
  char *canonical;
  struct stat st;

  gst_ssan_scheduler_init_debug ();
  canonical = realpath (path, NULL);
  if (canonical == NULL || stat (canonical, &st) != 0) {
    /* let the loader word the error */
    ssan_model *m = ssan_model_load (path, err);
    if (m) {
      ssan_model_free (m);
      snprintf (
          err->msg, sizeof (err->msg), "%s: %s", path, g_strerror (errno));
      err->code = SSAN_ERR_IO;
    }
    free (canonical);
    return NULL;
  }

  g_mutex_lock (&cache_lock);
  if (cache == NULL)
    cache = g_hash_table_new (g_str_hash, g_str_equal);
  ref = g_hash_table_lookup (cache, canonical);
  if (ref && gst_ssan_model_file_same (&ref->st, &st)) {
    ref->refcount++;
  } else {
    ssan_model *m = ssan_model_load (canonical, err);

    if (m) {
      if (ref)
        ref->cached = FALSE;
      ref = g_new0 (GstSsanModelRef, 1);
      ref->path = g_strdup (canonical);
      ref->model = m;
      ref->st = st;
      ref->refcount = 1;
      ref->cached = TRUE;
      g_hash_table_replace (cache, ref->path, ref);
      GST_INFO ("loaded model %s", ref->path);
    } else {
      ref = NULL;
    }
  }
  g_mutex_unlock (&cache_lock);
  free (canonical);

  return ref;
}

static GstSsanModelRef *
gst_ssan_model_ref_ref (GstSsanModelRef *ref)
{
  g_mutex_lock (&cache_lock);
  ref->refcount++;
  g_mutex_unlock (&cache_lock);
  return ref;
}

void
gst_ssan_model_ref_release (GstSsanModelRef *ref)
{
  g_mutex_lock (&cache_lock);
  if (--ref->refcount == 0) {
    if (ref->cached)
      g_hash_table_remove (cache, ref->path);
    GST_INFO ("freeing model %s", ref->path);
    ssan_model_free (ref->model);
    g_free (ref->path);
    g_free (ref);
  }
  g_mutex_unlock (&cache_lock);
}

const ssan_model *
gst_ssan_model_ref_get_model (const GstSsanModelRef *ref)
{
  return ref->model;
}

const ssan_info *
gst_ssan_model_ref_get_info (const GstSsanModelRef *ref)
{
  return ssan_model_get_info (ref->model);
}

const gchar *
gst_ssan_model_ref_get_path (const GstSsanModelRef *ref)
{
  return ref->path;
}

/* ---- thread budget ---- */

/* Forward calls of every scheduler, one at a time */
static GMutex compute_lock;
static gint budget_set;   /* atomic; 0: the default */
static gint threads_now;  /* atomic: threads in forward calls */
static gint threads_peak; /* atomic */

/* A positive integer from the environment, or 0. */
static gint
gst_ssan_scheduler_env_int (const gchar *name, gint max)
{
  const gchar *v = g_getenv (name);
  gchar *end = NULL;
  gint64 n;

  if (v == NULL || v[0] == '\0')
    return 0;
  n = g_ascii_strtoll (v, &end, 10);
  if (end == v || *end != '\0' || n < 1 || n > max) {
    GST_WARNING ("ignoring %s=\"%s\": not an integer in 1..%d", name, v, max);
    return 0;
  }
  return (gint)n;
}

static gint
gst_ssan_scheduler_default_budget (void)
{
  static gsize budget = 0;

  if (g_once_init_enter (&budget)) {
    gint n = gst_ssan_scheduler_env_int ("GST_SSAN_THREADS", 1024);
    if (n == 0)
      n = MAX (1, (gint)g_get_num_processors ());
    g_once_init_leave (&budget, (gsize)n);
  }
  return (gint)budget;
}

void
gst_ssan_scheduler_set_thread_budget (gint n)
{
  g_atomic_int_set (&budget_set, MAX (0, MIN (n, 1024)));
}

gint
gst_ssan_scheduler_get_thread_budget (void)
{
  gint n = g_atomic_int_get (&budget_set);

  return n > 0 ? n : gst_ssan_scheduler_default_budget ();
}

gint
gst_ssan_scheduler_get_peak_threads (void)
{
  return g_atomic_int_get (&threads_peak);
}

/* ---- scheduler ---- */

typedef enum {
  CLIENT_IDLE,
  CLIENT_QUEUED,
  CLIENT_RUNNING,
  CLIENT_DONE,
} ClientState;

struct _GstSsanSchedulerClient {
  GstSsanScheduler *sched;
  /* sched->lock */
  ClientState state;
  GList link; /* in sched->queue while queued; data: the client */
  GstSsanSchedulerClientStats stats;
  /* written by the scheduler thread while running, read once done */
  GstSsanSchedulerOutcome outcome;
  float *input;  /* [T][3][S][S] */
  float *logits; /* [C] */
};

struct _GstSsanScheduler {
  /* table_lock */
  gint refcount; /* its clients */
  gboolean shared;
  GstSsanModelRef *model;
  gint T, C;
  gsize in_floats; /* one window's input */

  GMutex lock;
  GCond cond; /* queue, client states, quit, paused */
  GQueue queue;
  gint n_clients;
  gint batch_cap; /* largest batch to grow the context to */
  gboolean quit, paused;
  GstSsanSchedulerStats stats;
  gint ctx_batch; /* lock for readers; written by the thread */

  /* the scheduler's thread (and creation) only */
  GThread *thread;
  ssan_ctx *ctx;
  gint ctx_threads;
  float *batch_in;     /* [ctx_batch][in_floats] */
  float *batch_logits; /* [ctx_batch][C] */
};

static GMutex table_lock;
static GList *shared_scheds; /* table_lock */

/* Frees the context and its batch buffers. */
static void
gst_ssan_scheduler_drop_context (GstSsanScheduler *s)
{
  if (s->ctx)
    ssan_ctx_free (s->ctx);
  g_free (s->batch_in);
  g_free (s->batch_logits);
  s->ctx = NULL;
  s->batch_in = NULL;
  s->batch_logits = NULL;
}

/* A context for batches of n and its buffers; false (nothing held) when
 * memory runs out. */
static gboolean
gst_ssan_scheduler_make_context (GstSsanScheduler *s, gint n, ssan_error *err)
{
  s->ctx = ssan_ctx_new (gst_ssan_model_ref_get_model (s->model), s->T, n, err);
  s->batch_in
      = n > 1 ? g_try_malloc_n ((gsize)n * s->in_floats, sizeof (float)) : NULL;
  s->batch_logits = g_try_malloc_n ((gsize)n * s->C, sizeof (float));
  s->ctx_threads = 0;
  if (s->ctx && (n == 1 || s->batch_in) && s->batch_logits)
    return TRUE;
  if (s->ctx) {
    err->code = SSAN_ERR_NOMEM;
    snprintf (err->msg, sizeof (err->msg), "out of memory");
  }
  gst_ssan_scheduler_drop_context (s);
  return FALSE;
}

/* Replaces the context (batches of `from`) by one for batches of n, the old
 * one freed first: both at once would be the process's memory peak.
 * Returns the batch size held now: n, else `from` again when memory runs
 * out, else 0 (no context: windows fail until a later try succeeds). */
static gint
gst_ssan_scheduler_grow (GstSsanScheduler *s, gint from, gint n)
{
  ssan_error err = {
    0,
  };

  gst_ssan_scheduler_drop_context (s);
  if (gst_ssan_scheduler_make_context (s, n, &err)) {
    GST_INFO ("model %s, T %d: batches of up to %d windows",
        gst_ssan_model_ref_get_path (s->model), s->T, n);
    return n;
  }
  GST_WARNING ("model %s: cannot grow batches to %d (%s), staying at %d",
      gst_ssan_model_ref_get_path (s->model), n, err.msg, from);
  if (from > 0 && gst_ssan_scheduler_make_context (s, from, &err))
    return from;
  return 0;
}

/* Runs one batch; fills the clients' logits and outcomes. */
static void
gst_ssan_scheduler_run (
    GstSsanScheduler *s, GstSsanSchedulerClient **run, gint n)
{
  ssan_error err = {
    0,
  };
  const float *in;
  gint budget, now, peak, i, rc;
  gint64 t0, t1;

  if (s->ctx == NULL) {
    for (i = 0; i < n; i++) {
      run[i]->outcome.ok = FALSE;
      run[i]->outcome.batch = n;
      g_strlcpy (run[i]->outcome.message, "no memory for the inference context",
          sizeof (run[i]->outcome.message));
    }
    return;
  }
  if (n == 1) {
    in = run[0]->input;
  } else {
    for (i = 0; i < n; i++)
      memcpy (s->batch_in + (gsize)i * s->in_floats, run[i]->input,
          s->in_floats * sizeof (float));
    in = s->batch_in;
  }

  g_mutex_lock (&compute_lock);
  budget = gst_ssan_scheduler_get_thread_budget ();
  if (budget != s->ctx_threads) {
    ssan_ctx_set_threads (s->ctx, budget);
    s->ctx_threads = budget;
  }
  now = g_atomic_int_add (&threads_now, budget) + budget;
  do {
    peak = g_atomic_int_get (&threads_peak);
  } while (now > peak
           && !g_atomic_int_compare_and_exchange (&threads_peak, peak, now));
  t0 = g_get_monotonic_time ();
  rc = ssan_ctx_forward (s->ctx, in, n, s->batch_logits, &err);
  t1 = g_get_monotonic_time ();
  g_atomic_int_add (&threads_now, -budget);
  g_mutex_unlock (&compute_lock);

  for (i = 0; i < n; i++) {
    GstSsanSchedulerOutcome *o = &run[i]->outcome;

    o->ok = rc == 0;
    o->message[0] = '\0';
    if (rc != 0)
      g_strlcpy (o->message, err.msg, sizeof (o->message));
    else
      memcpy (run[i]->logits, s->batch_logits + (gsize)i * s->C,
          (gsize)s->C * sizeof (float));
    o->inference_time = (GstClockTime)(t1 - t0) * GST_USECOND;
    o->batch = n;
  }
}

/* set_hold (tests): windows taken, not yet run */
static GMutex hold_lock;
static GCond hold_cond;
static gboolean hold;
static gint held;

static void
gst_ssan_scheduler_wait_hold (gint n)
{
  /* outside tests: no process-wide lock per batch */
  if (!g_atomic_int_get (&hold))
    return;
  g_mutex_lock (&hold_lock);
  if (hold) {
    held += n;
    g_cond_broadcast (&hold_cond);
    while (hold)
      g_cond_wait (&hold_cond, &hold_lock);
    held -= n;
  }
  g_mutex_unlock (&hold_lock);
}

void
gst_ssan_scheduler_set_hold (gboolean h)
{
  g_mutex_lock (&hold_lock);
  g_atomic_int_set (&hold, h);
  g_cond_broadcast (&hold_cond);
  g_mutex_unlock (&hold_lock);
}

void
gst_ssan_scheduler_wait_held (gint n)
{
  g_mutex_lock (&hold_lock);
  while (held < n)
    g_cond_wait (&hold_cond, &hold_lock);
  g_mutex_unlock (&hold_lock);
}

static gpointer
gst_ssan_scheduler_thread (gpointer data)
{
  GstSsanScheduler *s = data;
  GstSsanSchedulerClient *run[MAX_MAX_BATCH];
  gint n, want, i;

  g_mutex_lock (&s->lock);
  for (;;) {
    while (!s->quit && (s->paused || g_queue_is_empty (&s->queue)))
      g_cond_wait (&s->cond, &s->lock);
    if (s->quit)
      break;

    /* Grown on demand: to as many windows as wait, never per window (at
     * most batch_cap - 1 times over the scheduler's life), so streams that
     * keep up one at a time never pay a big batch's scratch memory. */
    want = MIN ((gint)g_queue_get_length (&s->queue), s->batch_cap);
    if (want > s->ctx_batch || s->ctx_batch == 0) {
      gint from = s->ctx_batch, got;

      g_mutex_unlock (&s->lock);
      got = gst_ssan_scheduler_grow (s, from, MAX (want, 1));
      g_mutex_lock (&s->lock);
      if (got < want)
        s->batch_cap = MAX (got, 1);
      s->ctx_batch = got;
      s->stats.max_batch = got;
    }

    for (n = 0; n < MAX (s->ctx_batch, 1) && !g_queue_is_empty (&s->queue);
         n++) {
      run[n] = g_queue_pop_head_link (&s->queue)->data;
      run[n]->state = CLIENT_RUNNING;
    }
    g_mutex_unlock (&s->lock);

    gst_ssan_scheduler_wait_hold (n);
    gst_ssan_scheduler_run (s, run, n);

    g_mutex_lock (&s->lock);
    for (i = 0; i < n; i++) {
      run[i]->state = CLIENT_DONE;
      run[i]->stats.evaluated++;
    }
    s->stats.batches++;
    s->stats.windows += n;
    s->stats.largest_batch = MAX (s->stats.largest_batch, n);
    g_cond_broadcast (&s->cond);
  }
  g_mutex_unlock (&s->lock);

  return NULL;
}

static void
gst_ssan_scheduler_free (GstSsanScheduler *s)
{
  if (s->thread) {
    g_mutex_lock (&s->lock);
    s->quit = TRUE;
    g_cond_broadcast (&s->cond);
    g_mutex_unlock (&s->lock);
    g_thread_join (s->thread);
  }
  GST_INFO ("model %s, T %d: scheduler done after %" G_GUINT64_FORMAT
            " windows in %" G_GUINT64_FORMAT " batches",
      gst_ssan_model_ref_get_path (s->model), s->T, s->stats.windows,
      s->stats.batches);
  gst_ssan_scheduler_drop_context (s);
  gst_ssan_model_ref_release (s->model);
  g_mutex_clear (&s->lock);
  g_cond_clear (&s->cond);
  g_free (s);
}

/* With table_lock held. */
static GstSsanScheduler *
gst_ssan_scheduler_new (
    GstSsanModelRef *model, gint segments, gboolean shared, ssan_error *err)
{
  GstSsanScheduler *s = g_new0 (GstSsanScheduler, 1);
  const ssan_info *info = gst_ssan_model_ref_get_info (model);
  GError *error = NULL;
  gint cap;

  g_mutex_init (&s->lock);
  g_cond_init (&s->cond);
  g_queue_init (&s->queue);
  s->model = gst_ssan_model_ref_ref (model);
  s->shared = shared;
  s->T = segments;
  s->C = info->num_classes;
  s->in_floats = (gsize)segments * 3 * info->input_size * info->input_size;
  cap = gst_ssan_scheduler_env_int ("GST_SSAN_MAX_BATCH", MAX_MAX_BATCH);
  if (cap == 0)
    cap = CLAMP (
        (gint)(BATCH_PIXELS
               / ((gsize)segments * info->input_size * info->input_size)),
        1, DEFAULT_MAX_BATCH);
  s->batch_cap = cap;
  GST_INFO ("model %s, T %d: batches of up to %d windows%s",
      gst_ssan_model_ref_get_path (model), segments, cap,
      g_getenv ("GST_SSAN_MAX_BATCH") ? " (GST_SSAN_MAX_BATCH)" : "");

  if (!gst_ssan_scheduler_make_context (s, 1, err))
    goto failed;
  s->ctx_batch = 1;
  s->stats.max_batch = 1;

  s->thread = g_thread_try_new (
      "ssanscheduler", gst_ssan_scheduler_thread, s, &error);
  if (s->thread == NULL)
    goto no_thread;

  s->refcount = 1;
  if (shared)
    shared_scheds = g_list_prepend (shared_scheds, s);
  GST_INFO ("model %s, T %d: new %s scheduler, kernels %s",
      gst_ssan_model_ref_get_path (model), segments,
      shared ? "shared" : "private", ssan_ctx_get_kernels (s->ctx));
  return s;

  /* ERRORS */
no_thread : {
  err->code = SSAN_ERR_NOMEM;
  snprintf (
      err->msg, sizeof (err->msg), "cannot start a thread: %s", error->message);
  g_error_free (error);
  goto failed;
}
failed : {
  gst_ssan_scheduler_free (s);
  return NULL;
}
}

GstSsanSchedulerClient *
gst_ssan_scheduler_client_new (
    GstSsanModelRef *model, gint segments, gboolean shared, ssan_error *err)
{
  const ssan_info *info = gst_ssan_model_ref_get_info (model);
  GstSsanScheduler *s = NULL;
  GstSsanSchedulerClient *c;
  GList *l;

  gst_ssan_scheduler_init_debug ();
  if (segments <= 0)
    segments = info->segments;

  c = g_new0 (GstSsanSchedulerClient, 1);
  c->input = g_try_malloc_n (
      (gsize)segments * 3 * info->input_size * info->input_size,
      sizeof (float));
  c->logits = g_try_malloc_n (info->num_classes, sizeof (float));
  if (c->input == NULL || c->logits == NULL) {
    err->code = SSAN_ERR_NOMEM;
    snprintf (err->msg, sizeof (err->msg),
        "out of memory for a window of %d frames of %dx%d", segments,
        info->input_size, info->input_size);
    goto failed;
  }
  c->link.data = c;

  g_mutex_lock (&table_lock);
  for (l = shared ? shared_scheds : NULL; l; l = l->next) {
    GstSsanScheduler *t = l->data;
    if (t->model == model && t->T == segments) {
      s = t;
      s->refcount++;
      break;
    }
  }
  if (s == NULL)
    s = gst_ssan_scheduler_new (model, segments, shared, err);
  g_mutex_unlock (&table_lock);
  if (s == NULL)
    goto failed;

  c->sched = s;
  g_mutex_lock (&s->lock);
  s->n_clients++;
  s->stats.clients = s->n_clients;
  g_mutex_unlock (&s->lock);
  return c;

failed:
  g_free (c->input);
  g_free (c->logits);
  g_free (c);
  return NULL;
}

void
gst_ssan_scheduler_client_free (GstSsanSchedulerClient *c)
{
  GstSsanScheduler *s = c->sched;
  gboolean last;

  gst_ssan_scheduler_client_cancel (c);
  g_mutex_lock (&s->lock);
  s->n_clients--;
  s->stats.clients = s->n_clients;
  g_mutex_unlock (&s->lock);

  g_mutex_lock (&table_lock);
  last = --s->refcount == 0;
  if (last && s->shared)
    shared_scheds = g_list_remove (shared_scheds, s);
  g_mutex_unlock (&table_lock);
  if (last)
    gst_ssan_scheduler_free (s);

  g_free (c->input);
  g_free (c->logits);
  g_free (c);
}

GstSsanScheduler *
gst_ssan_scheduler_client_get_scheduler (GstSsanSchedulerClient *c)
{
  return c->sched;
}

float *
gst_ssan_scheduler_client_get_input (GstSsanSchedulerClient *c)
{
  return c->input;
}

const float *
gst_ssan_scheduler_client_get_logits (GstSsanSchedulerClient *c)
{
  return c->logits;
}

gboolean
gst_ssan_scheduler_client_is_busy (GstSsanSchedulerClient *c)
{
  gboolean busy;

  g_mutex_lock (&c->sched->lock);
  busy = c->state == CLIENT_QUEUED || c->state == CLIENT_RUNNING;
  g_mutex_unlock (&c->sched->lock);
  return busy;
}

gboolean
gst_ssan_scheduler_client_submit (GstSsanSchedulerClient *c, guint64 tag)
{
  GstSsanScheduler *s = c->sched;

  g_mutex_lock (&s->lock);
  if (c->state == CLIENT_QUEUED || c->state == CLIENT_RUNNING) {
    g_mutex_unlock (&s->lock);
    return FALSE;
  }
  c->state = CLIENT_QUEUED;
  c->outcome.tag = tag;
  c->stats.submitted++;
  g_queue_push_tail_link (&s->queue, &c->link);
  g_cond_broadcast (&s->cond);
  g_mutex_unlock (&s->lock);
  return TRUE;
}

/* With the lock held: collects a finished window. */
static gboolean
gst_ssan_scheduler_client_collect (
    GstSsanSchedulerClient *c, GstSsanSchedulerOutcome *out)
{
  if (c->state != CLIENT_DONE)
    return FALSE;
  if (out)
    *out = c->outcome;
  c->state = CLIENT_IDLE;
  return TRUE;
}

gboolean
gst_ssan_scheduler_client_wait (
    GstSsanSchedulerClient *c, GstSsanSchedulerOutcome *out)
{
  GstSsanScheduler *s = c->sched;
  gboolean ret;

  g_mutex_lock (&s->lock);
  while (c->state == CLIENT_QUEUED || c->state == CLIENT_RUNNING)
    g_cond_wait (&s->cond, &s->lock);
  ret = gst_ssan_scheduler_client_collect (c, out);
  g_mutex_unlock (&s->lock);
  return ret;
}

gboolean
gst_ssan_scheduler_client_poll (
    GstSsanSchedulerClient *c, GstSsanSchedulerOutcome *out)
{
  GstSsanScheduler *s = c->sched;
  gboolean ret;

  g_mutex_lock (&s->lock);
  ret = gst_ssan_scheduler_client_collect (c, out);
  g_mutex_unlock (&s->lock);
  return ret;
}

void
gst_ssan_scheduler_client_cancel (GstSsanSchedulerClient *c)
{
  GstSsanScheduler *s = c->sched;

  g_mutex_lock (&s->lock);
  if (c->state == CLIENT_QUEUED) {
    g_queue_unlink (&s->queue, &c->link);
    c->state = CLIENT_IDLE;
    c->stats.cancelled++;
  }
  while (c->state == CLIENT_RUNNING)
    g_cond_wait (&s->cond, &s->lock);
  c->state = CLIENT_IDLE;
  g_mutex_unlock (&s->lock);
}

gboolean
gst_ssan_scheduler_client_try_cancel (GstSsanSchedulerClient *c)
{
  GstSsanScheduler *s = c->sched;
  gboolean idle;

  g_mutex_lock (&s->lock);
  if (c->state == CLIENT_QUEUED) {
    g_queue_unlink (&s->queue, &c->link);
    c->stats.cancelled++;
  }
  idle = c->state != CLIENT_RUNNING;
  if (idle)
    c->state = CLIENT_IDLE;
  g_mutex_unlock (&s->lock);
  return idle;
}

void
gst_ssan_scheduler_client_get_stats (
    GstSsanSchedulerClient *c, GstSsanSchedulerClientStats *stats)
{
  g_mutex_lock (&c->sched->lock);
  *stats = c->stats;
  g_mutex_unlock (&c->sched->lock);
}

void
gst_ssan_scheduler_get_stats (GstSsanScheduler *s, GstSsanSchedulerStats *stats)
{
  g_mutex_lock (&s->lock);
  *stats = s->stats;
  g_mutex_unlock (&s->lock);
}

void
gst_ssan_scheduler_set_paused (GstSsanScheduler *s, gboolean paused)
{
  g_mutex_lock (&s->lock);
  s->paused = paused;
  g_cond_broadcast (&s->cond);
  g_mutex_unlock (&s->lock);
}
