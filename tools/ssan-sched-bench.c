/* ssan-sched-bench: windows per second through the shared inference
 * scheduler (plugin/gstssanscheduler.h) with N client threads, beside one
 * engine context on the whole machine, in one run.
 *
 *   ssan-sched-bench [--model FILE | --paper] [--streams N] [--windows W]
 *                    [--repeat R] [--threads B]
 *
 * Each measurement runs in its own child process (so its peak resident
 * memory is its own), alternating, R times:
 *   ctx    one context, batch 1, B threads, N * W windows back to back;
 *   sched1 one client of the scheduler, N * W windows (the hand-over's cost);
 *   schedN N client threads, W windows each, each submitting its next
 *          window as soon as its last one is back (sync mode, as many
 *          streams faster than real time would).
 * Printed per run: windows/s (wall), CPU seconds per window, mean batch,
 * most threads computing at once, peak RSS (VmHWM).  Inputs are seeded
 * random normalised frames; the first 2 windows of each run are warm-up.
 * --paper writes a random-weight ResNet-50 SSAN (T 8, 224, SSA in layer1.0
 * and layer2.0) to a temporary file. */
#include "gstssanscheduler.h"
#include "ssan-modelgen.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static gchar *model_path;
static gint n_streams = 8, n_windows = 40, n_threads = 0;

typedef struct {
  GstSsanSchedulerClient *client;
  gint windows;
} ClientArgs;

static double
cpu_seconds (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec
         + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static long
vm_hwm_kib (void)
{
  gchar *status = NULL, *p;
  long kib = -1;

  if (g_file_get_contents ("/proc/self/status", &status, NULL, NULL)
      && (p = strstr (status, "VmHWM:")))
    kib = strtol (p + 6, NULL, 10);
  g_free (status);
  return kib;
}

static void
fill_random (float *x, gsize n, guint32 seed)
{
  gsize i;

  for (i = 0; i < n; i++) {
    seed = seed * 1664525u + 1013904223u;
    x[i] = (float)((seed >> 8) % 2001) / 1000.0f - 1.0f;
  }
}

static gpointer
client_thread (gpointer data)
{
  ClientArgs *a = data;
  gint w;

  for (w = 0; w < a->windows; w++) {
    if (!gst_ssan_scheduler_client_submit (a->client, (guint64)w)
        || !gst_ssan_scheduler_client_wait (a->client, NULL))
      g_error ("window %d did not run", w);
  }
  return NULL;
}

/* One measurement; prints one line. */
static void
run_phase (const gchar *phase, gint clients)
{
  ssan_error err = {
    0,
  };
  GstSsanModelRef *ref = gst_ssan_model_ref_acquire (model_path, &err);
  const ssan_info *info;
  gsize in_floats;
  gint64 t0, t1;
  double c0, c1, mean_batch = 1.0;
  gint total = clients * n_windows, i;

  if (ref == NULL)
    g_error ("%s", err.msg);
  info = gst_ssan_model_ref_get_info (ref);
  in_floats = (gsize)info->segments * 3 * info->input_size * info->input_size;
  gst_ssan_scheduler_set_thread_budget (n_threads);

  if (g_str_equal (phase, "ctx")) {
    ssan_ctx *ctx = ssan_ctx_new (
        gst_ssan_model_ref_get_model (ref), info->segments, 1, &err);
    float *in = g_new (float, in_floats);
    float *logits = g_new (float, info->num_classes);

    if (ctx == NULL)
      g_error ("%s", err.msg);
    total = n_streams * n_windows;
    ssan_ctx_set_threads (ctx, gst_ssan_scheduler_get_thread_budget ());
    fill_random (in, in_floats, 1);
    for (i = 0; i < 2; i++)
      ssan_ctx_forward (ctx, in, 1, logits, &err);
    c0 = cpu_seconds ();
    t0 = g_get_monotonic_time ();
    for (i = 0; i < total; i++)
      if (ssan_ctx_forward (ctx, in, 1, logits, &err) != 0)
        g_error ("%s", err.msg);
    t1 = g_get_monotonic_time ();
    c1 = cpu_seconds ();
    ssan_ctx_free (ctx);
    g_free (in);
    g_free (logits);
  } else {
    GstSsanSchedulerClient **c = g_new0 (GstSsanSchedulerClient *, clients);
    ClientArgs *args = g_new0 (ClientArgs, clients);
    GThread **th = g_new0 (GThread *, clients);
    GstSsanSchedulerStats st0, st1;

    if (clients == 1)
      n_windows = total = n_streams * n_windows;
    for (i = 0; i < clients; i++) {
      c[i] = gst_ssan_scheduler_client_new (ref, 0, TRUE, &err);
      if (c[i] == NULL)
        g_error ("%s", err.msg);
      fill_random (gst_ssan_scheduler_client_get_input (c[i]), in_floats,
          (guint32)i + 1);
      args[i].client = c[i];
      args[i].windows = 2;
    }
    /* warm-up: every client twice, so the context has grown */
    for (i = 0; i < clients; i++)
      th[i] = g_thread_new ("warm-up", client_thread, &args[i]);
    for (i = 0; i < clients; i++)
      g_thread_join (th[i]);
    gst_ssan_scheduler_get_stats (
        gst_ssan_scheduler_client_get_scheduler (c[0]), &st0);
    c0 = cpu_seconds ();
    t0 = g_get_monotonic_time ();
    for (i = 0; i < clients; i++) {
      args[i].windows = n_windows;
      th[i] = g_thread_new ("stream", client_thread, &args[i]);
    }
    for (i = 0; i < clients; i++)
      g_thread_join (th[i]);
    t1 = g_get_monotonic_time ();
    c1 = cpu_seconds ();
    gst_ssan_scheduler_get_stats (
        gst_ssan_scheduler_client_get_scheduler (c[0]), &st1);
    mean_batch = (double)(st1.windows - st0.windows)
                 / (double)MAX (1, st1.batches - st0.batches);
    for (i = 0; i < clients; i++)
      gst_ssan_scheduler_client_free (c[i]);
    g_free (c);
    g_free (args);
    g_free (th);
  }
  printf ("%-7s %3d client(s) %5d windows  %8.1f windows/s  %8.3f CPU "
          "ms/window  mean batch %4.2f  peak threads %d/%d  VmHWM %ld MiB\n",
      phase, g_str_equal (phase, "ctx") ? 0 : clients, total,
      total / ((t1 - t0) / 1e6), 1e3 * (c1 - c0) / total, mean_batch,
      g_str_equal (phase, "ctx") ? gst_ssan_scheduler_get_thread_budget ()
                                 : gst_ssan_scheduler_get_peak_threads (),
      gst_ssan_scheduler_get_thread_budget (), vm_hwm_kib () / 1024);
  fflush (stdout);
  gst_ssan_model_ref_release (ref);
}

static gchar *
write_paper_model (void)
{
  ssan_modelgen_config cfg;
  ssan_modelgen *g;
  char err[256];
  gchar *path;
  gint fd = g_file_open_tmp ("ssan-paper-XXXXXX.safetensors", &path, NULL);

  if (fd < 0)
    g_error ("cannot create a temporary file");
  close (fd);
  ssan_modelgen_config_init (&cfg);
  cfg.arch = "resnet50";
  cfg.num_classes = 174;
  cfg.segments = 8;
  cfg.input_size = 224;
  cfg.ssa_blocks = "layer1.0,layer2.0";
  g = ssan_modelgen_new (&cfg, err, sizeof (err));
  if (g == NULL || ssan_modelgen_write_file (g, path) != 0)
    g_error ("cannot write the paper model: %s", err);
  ssan_modelgen_free (g);
  return path;
}

int
main (int argc, char **argv)
{
  gboolean paper = FALSE;
  gint repeat = 3, r, p, i;
  const gchar *phases[] = { "ctx", "sched1", "schedN" };

  for (i = 1; i < argc; i++) {
    if (g_str_equal (argv[i], "--model") && i + 1 < argc)
      model_path = g_strdup (argv[++i]);
    else if (g_str_equal (argv[i], "--paper"))
      paper = TRUE;
    else if (g_str_equal (argv[i], "--streams") && i + 1 < argc)
      n_streams = atoi (argv[++i]);
    else if (g_str_equal (argv[i], "--windows") && i + 1 < argc)
      n_windows = atoi (argv[++i]);
    else if (g_str_equal (argv[i], "--repeat") && i + 1 < argc)
      repeat = atoi (argv[++i]);
    else if (g_str_equal (argv[i], "--threads") && i + 1 < argc)
      n_threads = atoi (argv[++i]);
    else {
      fprintf (stderr,
          "usage: %s [--model FILE | --paper] [--streams N] [--windows W] "
          "[--repeat R] [--threads B]\n",
          argv[0]);
      return 2;
    }
  }
  if (paper)
    model_path = write_paper_model ();
  if (model_path == NULL || n_streams < 1 || n_windows < 1 || repeat < 1) {
    fprintf (stderr, "%s: give --model FILE or --paper\n", argv[0]);
    return 2;
  }
  printf ("model %s, %d streams, %d windows per stream, thread budget %d "
          "(%s), %d runs\n",
      model_path, n_streams, n_windows,
      n_threads > 0 ? n_threads : (gint)g_get_num_processors (),
      n_threads > 0 ? "--threads" : "online cores", repeat);
  fflush (stdout);

  for (r = 0; r < repeat; r++) {
    for (p = 0; p < 3; p++) {
      pid_t pid = fork ();
      int status;

      if (pid == 0) {
        gst_init (NULL, NULL);
        run_phase (phases[p], p == 2 ? n_streams : 1);
        _exit (0);
      }
      if (pid < 0 || waitpid (pid, &status, 0) != pid || !WIFEXITED (status)
          || WEXITSTATUS (status) != 0) {
        fprintf (stderr, "%s: run %s failed\n", argv[0], phases[p]);
        return 1;
      }
    }
  }
  if (paper)
    g_unlink (model_path);
  g_free (model_path);
  return 0;
}
