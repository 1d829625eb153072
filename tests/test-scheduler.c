/* Tests of the model cache and the shared inference scheduler
 * (plugin/gstssanscheduler.h) on their own: batched results equal to one
 * context's, batches in queue order, busy clients, cancellation, sharing,
 * the process-wide thread budget, and a stress run of sync and async
 * clients joining and leaving from several threads.  Nothing here depends
 * on the machine's speed: batch boundaries are made deterministic by
 * pausing the scheduler while windows queue up. */
#include "gstssanscheduler.h"

#include "ssan-modelgen.h"

#include <glib/gstdio.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static GMutex check_lock;
#define UNIT_CHECK_LOCK() g_mutex_lock (&check_lock)
#define UNIT_CHECK_UNLOCK() g_mutex_unlock (&check_lock)
#include "unit-check.h"

#define T 4
#define S 32
#define C 7
#define IN_FLOATS ((gsize)T * 3 * S * S)
#define N_INPUTS 16

static gchar *model_path[2];
static float inputs[N_INPUTS][IN_FLOATS];
static float expected[2][N_INPUTS][C]; /* per model, from one context */

static void
write_model (gint which, const gchar *dir)
{
  ssan_modelgen_config cfg;
  ssan_modelgen *g;
  char err[256];

  ssan_modelgen_config_init (&cfg);
  cfg.arch = "custom";
  cfg.layers[0] = cfg.layers[1] = cfg.layers[2] = cfg.layers[3] = 1;
  cfg.width = 8;
  cfg.num_classes = C;
  cfg.segments = T;
  cfg.input_size = S;
  cfg.ssa_blocks = "layer1.0";
  cfg.seed = 7 + which;
  g = ssan_modelgen_new (&cfg, err, sizeof (err));
  g_assert (g != NULL);
  model_path[which] = g_strdup_printf ("%s/model%d.safetensors", dir, which);
  g_assert (ssan_modelgen_write_file (g, model_path[which]) == 0);
  ssan_modelgen_free (g);
}

static void
make_expected (void)
{
  guint32 x = 1;
  gsize i;
  gint m, k;

  for (k = 0; k < N_INPUTS; k++)
    for (i = 0; i < IN_FLOATS; i++) {
      x = x * 1664525u + 1013904223u;
      inputs[k][i] = (float)((x >> 8) % 2001) / 1000.0f - 1.0f;
    }
  for (m = 0; m < 2; m++) {
    ssan_error err = {
      0,
    };
    ssan_model *model = ssan_model_load (model_path[m], &err);
    ssan_ctx *ctx;

    g_assert (model != NULL);
    ctx = ssan_ctx_new (model, T, 1, &err);
    g_assert (ctx != NULL);
    ssan_ctx_set_threads (ctx, 1);
    for (k = 0; k < N_INPUTS; k++)
      g_assert (
          ssan_ctx_forward (ctx, inputs[k], 1, expected[m][k], &err) == 0);
    ssan_ctx_free (ctx);
    ssan_model_free (model);
  }
}

static gdouble
max_diff (const float *a, const float *b)
{
  gdouble d = 0.0;
  gint i;

  for (i = 0; i < C; i++)
    d = MAX (d, fabs ((gdouble)a[i] - b[i]));
  return d;
}

static GstSsanModelRef *
model_ref (gint which)
{
  ssan_error err = {
    0,
  };
  GstSsanModelRef *ref = gst_ssan_model_ref_acquire (model_path[which], &err);

  g_assert (ref != NULL);
  return ref;
}

static GstSsanSchedulerClient *
client_new (GstSsanModelRef *ref, gboolean shared)
{
  ssan_error err = {
    0,
  };
  GstSsanSchedulerClient *c
      = gst_ssan_scheduler_client_new (ref, 0, shared, &err);

  g_assert (c != NULL);
  return c;
}

/* Windows of n clients queued while paused run as batches of at most the
 * cap, in queue order, and give one context's logits. */
static void
test_batches (gint n, gint cap)
{
  GstSsanModelRef *ref = model_ref (0);
  GstSsanSchedulerClient *c[16];
  GstSsanSchedulerOutcome out;
  GstSsanSchedulerStats st;
  GstSsanScheduler *s;
  gchar *capstr = g_strdup_printf ("%d", cap);
  gint i, wrong = 0, batch_wrong = 0;
  gdouble worst = 0.0;

  g_setenv ("GST_SSAN_MAX_BATCH", capstr, TRUE);
  for (i = 0; i < n; i++)
    c[i] = client_new (ref, TRUE);
  g_unsetenv ("GST_SSAN_MAX_BATCH");
  s = gst_ssan_scheduler_client_get_scheduler (c[0]);
  for (i = 1; i < n; i++)
    wrong += gst_ssan_scheduler_client_get_scheduler (c[i]) != s;
  CHECK (wrong == 0, "clients of one model and T share a scheduler");

  gst_ssan_scheduler_set_paused (s, TRUE);
  for (i = 0; i < n; i++) {
    memcpy (gst_ssan_scheduler_client_get_input (c[i]), inputs[i],
        sizeof (inputs[i]));
    CHECK (gst_ssan_scheduler_client_submit (c[i], 100 + i), "submit %d", i);
  }
  CHECK (!gst_ssan_scheduler_client_poll (c[0], &out)
             && gst_ssan_scheduler_client_is_busy (c[0]),
      "nothing finished while paused");
  gst_ssan_scheduler_set_paused (s, FALSE);
  for (i = 0; i < n; i++) {
    /* batch k holds clients k*cap .. : the last one the remainder */
    gint expect_batch = MIN (cap, n - (i / cap) * cap);

    CHECK (gst_ssan_scheduler_client_wait (c[i], &out) && out.ok
               && out.tag == (guint64)(100 + i),
        "wait %d", i);
    worst = MAX (worst,
        max_diff (gst_ssan_scheduler_client_get_logits (c[i]), expected[0][i]));
    batch_wrong += out.batch != expect_batch;
  }
  gst_ssan_scheduler_get_stats (s, &st);
  CHECK (worst < 1e-4,
      "%d clients, batches of %d: logits %.3g from one "
      "context's",
      n, cap, worst);
  CHECK (batch_wrong == 0 && st.largest_batch == MIN (n, cap)
             && st.windows == (guint64)n
             && st.batches == (guint64)((n + cap - 1) / cap),
      "%d clients, cap %d: %d windows in wrong batches, largest %d, "
      "%" G_GUINT64_FORMAT " batches",
      n, cap, batch_wrong, st.largest_batch, st.batches);
  CHECK (!gst_ssan_scheduler_client_wait (c[0], &out),
      "a collected window is not delivered twice");

  for (i = 0; i < n; i++)
    gst_ssan_scheduler_client_free (c[i]);
  gst_ssan_model_ref_release (ref);
  g_free (capstr);
}

/* Without GST_SSAN_MAX_BATCH: the windows of a small model run together,
 * a window of 8 frames at 224x224 runs alone (its batch would only cost
 * memory). */
static void
test_default_cap (const gchar *dir)
{
  ssan_modelgen_config cfg;
  ssan_modelgen *g;
  char gen_err[256];
  gchar *big = g_strdup_printf ("%s/big.safetensors", dir);
  ssan_error err = {
    0,
  };
  GstSsanModelRef *ref[2];
  gint m, i, wrong;

  ssan_modelgen_config_init (&cfg);
  cfg.arch = "custom";
  cfg.layers[0] = cfg.layers[1] = cfg.layers[2] = cfg.layers[3] = 1;
  cfg.width = 4;
  cfg.num_classes = C;
  cfg.segments = 8;
  cfg.input_size = 224;
  g = ssan_modelgen_new (&cfg, gen_err, sizeof (gen_err));
  g_assert (g != NULL);
  g_assert (ssan_modelgen_write_file (g, big) == 0);
  ssan_modelgen_free (g);

  g_unsetenv ("GST_SSAN_MAX_BATCH");
  ref[0] = model_ref (0);
  ref[1] = gst_ssan_model_ref_acquire (big, &err);
  g_assert (ref[1] != NULL);
  for (m = 0; m < 2; m++) {
    GstSsanSchedulerClient *c[3];
    GstSsanSchedulerOutcome out;
    GstSsanSchedulerStats st;
    GstSsanScheduler *s;
    gint expect = m == 0 ? 3 : 1;

    for (i = 0; i < 3; i++)
      c[i] = client_new (ref[m], TRUE);
    s = gst_ssan_scheduler_client_get_scheduler (c[0]);
    gst_ssan_scheduler_set_paused (s, TRUE);
    for (i = 0; i < 3; i++)
      CHECK (gst_ssan_scheduler_client_submit (c[i], i), "submit %d", i);
    gst_ssan_scheduler_set_paused (s, FALSE);
    for (wrong = 0, i = 0; i < 3; i++)
      wrong += !gst_ssan_scheduler_client_wait (c[i], &out) || !out.ok
               || out.batch != expect;
    gst_ssan_scheduler_get_stats (s, &st);
    CHECK (wrong == 0 && st.largest_batch == expect,
        "%s model, 3 clients: %d windows not in batches of %d (largest %d)",
        m == 0 ? "small" : "224x224", wrong, expect, st.largest_batch);
    for (i = 0; i < 3; i++)
      gst_ssan_scheduler_client_free (c[i]);
    gst_ssan_model_ref_release (ref[m]);
  }
  g_unlink (big);
  g_free (big);
}

/* A client is busy until its window is collected; cancel removes a queued
 * window; private schedulers and other T are separate. */
static void
test_busy_cancel (void)
{
  GstSsanModelRef *ref = model_ref (0);
  GstSsanSchedulerClient *a = client_new (ref, TRUE);
  GstSsanSchedulerClient *b = client_new (ref, TRUE);
  GstSsanSchedulerClient *p = client_new (ref, FALSE);
  GstSsanSchedulerClient *t2;
  GstSsanSchedulerClientStats cs;
  GstSsanSchedulerOutcome out;
  GstSsanSchedulerStats st;
  GstSsanScheduler *s = gst_ssan_scheduler_client_get_scheduler (a);
  ssan_error err = {
    0,
  };

  t2 = gst_ssan_scheduler_client_new (ref, 2, TRUE, &err);
  g_assert (t2 != NULL);
  CHECK (gst_ssan_scheduler_client_get_scheduler (b) == s
             && gst_ssan_scheduler_client_get_scheduler (p) != s
             && gst_ssan_scheduler_client_get_scheduler (t2) != s,
      "private schedulers and other segment counts are separate");

  gst_ssan_scheduler_set_paused (s, TRUE);
  memcpy (
      gst_ssan_scheduler_client_get_input (a), inputs[3], sizeof (inputs[3]));
  memcpy (
      gst_ssan_scheduler_client_get_input (b), inputs[4], sizeof (inputs[4]));
  CHECK (gst_ssan_scheduler_client_submit (a, 1), "submit");
  CHECK (!gst_ssan_scheduler_client_submit (a, 2),
      "a second window while one is queued is refused (async: skipped)");
  CHECK (gst_ssan_scheduler_client_submit (b, 3), "another client submits");
  gst_ssan_scheduler_client_cancel (a);
  CHECK (!gst_ssan_scheduler_client_is_busy (a)
             && !gst_ssan_scheduler_client_poll (a, &out),
      "cancelled: idle, nothing to collect");
  gst_ssan_scheduler_set_paused (s, FALSE);
  CHECK (
      gst_ssan_scheduler_client_wait (b, &out) && out.tag == 3 && out.batch == 1
          && max_diff (gst_ssan_scheduler_client_get_logits (b), expected[0][4])
                 < 1e-4,
      "the other client's window ran alone and right");
  gst_ssan_scheduler_client_get_stats (a, &cs);
  gst_ssan_scheduler_get_stats (s, &st);
  CHECK (cs.submitted == 1 && cs.cancelled == 1 && cs.evaluated == 0
             && st.windows == 1,
      "counters: submitted %" G_GUINT64_FORMAT " cancelled %" G_GUINT64_FORMAT
      " evaluated %" G_GUINT64_FORMAT ", scheduler ran %" G_GUINT64_FORMAT,
      cs.submitted, cs.cancelled, cs.evaluated, st.windows);

  /* async: submit, then poll at later "buffers" until it is done */
  CHECK (gst_ssan_scheduler_client_submit (a, 4), "resubmit");
  while (!gst_ssan_scheduler_client_poll (a, &out))
    g_usleep (100);
  CHECK (
      out.tag == 4
          && max_diff (gst_ssan_scheduler_client_get_logits (a), expected[0][3])
                 < 1e-4,
      "polled result");

  /* freeing a client with a queued window: it never runs */
  gst_ssan_scheduler_set_paused (s, TRUE);
  CHECK (gst_ssan_scheduler_client_submit (b, 5), "queued before free");
  gst_ssan_scheduler_client_free (b);
  gst_ssan_scheduler_set_paused (s, FALSE);
  gst_ssan_scheduler_get_stats (s, &st);
  CHECK (st.clients == 1 && st.windows == 2, "freed client's window dropped");

  /* try_cancel never waits: a queued window goes, a running one stays
   * (held before its forward call) and finishes */
  gst_ssan_scheduler_set_paused (s, TRUE);
  CHECK (gst_ssan_scheduler_client_submit (a, 6), "queued");
  CHECK (gst_ssan_scheduler_client_try_cancel (a)
             && !gst_ssan_scheduler_client_is_busy (a),
      "try_cancel takes a queued window out");
  gst_ssan_scheduler_set_hold (TRUE);
  CHECK (gst_ssan_scheduler_client_submit (a, 7), "submit while held");
  gst_ssan_scheduler_set_paused (s, FALSE);
  gst_ssan_scheduler_wait_held (1);
  CHECK (!gst_ssan_scheduler_client_try_cancel (a)
             && gst_ssan_scheduler_client_is_busy (a)
             && !gst_ssan_scheduler_client_poll (a, &out),
      "try_cancel leaves a running window, without waiting");
  gst_ssan_scheduler_set_hold (FALSE);
  CHECK (gst_ssan_scheduler_client_wait (a, &out) && out.tag == 7,
      "the running window finishes");
  CHECK (gst_ssan_scheduler_client_try_cancel (a), "idle: nothing to cancel");

  gst_ssan_scheduler_client_free (a);
  gst_ssan_scheduler_client_free (p);
  gst_ssan_scheduler_client_free (t2);
  gst_ssan_model_ref_release (ref);
}

/* Stress: threads on two models, each a client submitting windows in sync
 * or async fashion, some leaving and joining again, while the thread
 * budget changes.  Every result must be its input's. */
typedef struct {
  gint id;
  gint bad;
  guint64 results;
} StressArgs;

#define STRESS_THREADS 8
#define STRESS_WINDOWS 60

static gpointer
stress_thread (gpointer data)
{
  StressArgs *a = data;
  gint model = a->id % 2, w, k = -1;
  GstSsanModelRef *ref = model_ref (model);
  GstSsanSchedulerClient *c = client_new (ref, TRUE);
  GstSsanSchedulerOutcome out;
  GstSsanSchedulerClientStats cs;
  guint32 x = 99u + (guint32)a->id;
  guint64 submitted = 0, evaluated = 0, cancelled = 0;

  for (w = 0; w < STRESS_WINDOWS; w++) {
    guint r;

    x = x * 1664525u + 1013904223u;
    r = x >> 8;
    if (r % 13 == 0) {
      /* leave and join again */
      gst_ssan_scheduler_client_cancel (c);
      gst_ssan_scheduler_client_get_stats (c, &cs);
      submitted += cs.submitted;
      evaluated += cs.evaluated;
      cancelled += cs.cancelled;
      gst_ssan_scheduler_client_free (c);
      c = client_new (ref, TRUE);
      k = -1;
    }
    if (gst_ssan_scheduler_client_poll (c, &out)) {
      a->results++;
      a->bad += max_diff (gst_ssan_scheduler_client_get_logits (c),
                    expected[model][out.tag])
                >= 1e-4;
      k = -1;
    }
    if (gst_ssan_scheduler_client_is_busy (c)) {
      if (r % 5 == 0)
        gst_ssan_scheduler_client_cancel (c);
      continue; /* async: a window due now is skipped */
    }
    k = (gint)(r % N_INPUTS);
    memcpy (
        gst_ssan_scheduler_client_get_input (c), inputs[k], sizeof (inputs[k]));
    g_assert (gst_ssan_scheduler_client_submit (c, (guint64)k));
    if (r % 3 == 0) {
      /* sync */
      if (gst_ssan_scheduler_client_wait (c, &out)) {
        a->results++;
        a->bad += out.tag != (guint64)k
                  || max_diff (gst_ssan_scheduler_client_get_logits (c),
                         expected[model][k])
                         >= 1e-4;
      } else {
        a->bad++;
      }
    }
    if (r % 17 == 0)
      gst_ssan_scheduler_set_thread_budget (1 + (gint)(r % 3));
  }
  if (gst_ssan_scheduler_client_wait (c, &out)) {
    a->results++;
    a->bad += max_diff (gst_ssan_scheduler_client_get_logits (c),
                  expected[model][out.tag])
              >= 1e-4;
  }
  gst_ssan_scheduler_client_get_stats (c, &cs);
  submitted += cs.submitted;
  evaluated += cs.evaluated;
  cancelled += cs.cancelled;
  gst_ssan_scheduler_client_free (c);
  gst_ssan_model_ref_release (ref);
  /* every window submitted was evaluated or cancelled; cancelling a
   * running window discards its result but counts it evaluated */
  a->bad += submitted != evaluated + cancelled || a->results > evaluated;
  return NULL;
}

static void
test_stress (void)
{
  GThread *th[STRESS_THREADS];
  StressArgs args[STRESS_THREADS];
  gint i, bad = 0;
  guint64 results = 0;

  for (i = 0; i < STRESS_THREADS; i++) {
    args[i].id = i;
    args[i].bad = 0;
    args[i].results = 0;
    th[i] = g_thread_new ("stress", stress_thread, &args[i]);
  }
  for (i = 0; i < STRESS_THREADS; i++) {
    g_thread_join (th[i]);
    bad += args[i].bad;
    results += args[i].results;
  }
  CHECK (bad == 0 && results > STRESS_THREADS,
      "stress: %d wrong of %" G_GUINT64_FORMAT " results", bad, results);
  CHECK (gst_ssan_scheduler_get_peak_threads () <= 3,
      "never more threads computing than the largest budget set (3): %d",
      gst_ssan_scheduler_get_peak_threads ());
  gst_ssan_scheduler_set_thread_budget (0);
}

static void
test_model_cache (const gchar *dir)
{
  ssan_error err = {
    0,
  };
  gchar *copy = g_strdup_printf ("%s/copy.safetensors", dir), *bytes;
  GstSsanModelRef *a, *b, *c;
  GstSsanSchedulerClient *ca, *cc;
  gsize size;

  CHECK (gst_ssan_model_ref_acquire ("/nonexistent/model.safetensors", &err)
                 == NULL
             && err.code == SSAN_ERR_IO,
      "a missing file is an I/O error: %s", err.msg);
  g_assert (g_file_get_contents (model_path[0], &bytes, &size, NULL));
  g_assert (g_file_set_contents (copy, bytes, (gssize)size, NULL));
  a = gst_ssan_model_ref_acquire (copy, &err);
  b = gst_ssan_model_ref_acquire (copy, &err);
  CHECK (a != NULL && a == b && gst_ssan_model_ref_is_current (a),
      "one loaded copy per file");
  gst_ssan_model_ref_release (b);
  ca = client_new (a, TRUE);

  /* replaced on disk (another inode): a new model and a new scheduler,
   * while the old one keeps serving its client */
  g_assert (g_unlink (copy) == 0);
  g_assert (g_file_set_contents (copy, bytes, (gssize)size, NULL));
  c = gst_ssan_model_ref_acquire (copy, &err);
  CHECK (c != NULL && c != a && !gst_ssan_model_ref_is_current (a)
             && gst_ssan_model_ref_is_current (c),
      "a file replaced on disk is loaded again");
  cc = client_new (c, TRUE);
  CHECK (gst_ssan_scheduler_client_get_scheduler (cc)
             != gst_ssan_scheduler_client_get_scheduler (ca),
      "the new model has its own scheduler");
  memcpy (
      gst_ssan_scheduler_client_get_input (ca), inputs[5], sizeof (inputs[5]));
  CHECK (gst_ssan_scheduler_client_submit (ca, 5)
             && gst_ssan_scheduler_client_wait (ca, NULL)
             && max_diff (
                    gst_ssan_scheduler_client_get_logits (ca), expected[0][5])
                    < 1e-4,
      "the old copy still evaluates");
  gst_ssan_scheduler_client_free (ca);
  gst_ssan_scheduler_client_free (cc);
  gst_ssan_model_ref_release (a);
  gst_ssan_model_ref_release (c);
  g_unlink (copy);
  g_free (copy);
  g_free (bytes);
}

int
main (int argc, char **argv)
{
  gchar *dir;
  gint i;

  gst_init (&argc, &argv);
  dir = g_dir_make_tmp ("ssan-sched-XXXXXX", NULL);
  g_assert (dir != NULL);
  write_model (0, dir);
  write_model (1, dir);
  make_expected ();

  gst_ssan_scheduler_set_thread_budget (2);
  test_batches (1, 8);
  test_batches (5, 2);
  test_batches (8, 8);
  test_batches (11, 4);
  test_default_cap (dir);
  test_busy_cancel ();
  test_stress ();
  test_model_cache (dir);

  for (i = 0; i < 2; i++) {
    g_unlink (model_path[i]);
    g_free (model_path[i]);
  }
  g_rmdir (dir);
  g_free (dir);
  printf ("%d passed, %d failed\n", n_passed, n_failed);
  return n_failed ? 1 : 0;
}
