/* gst-ssan — loaded models and the inference scheduler shared by elements.
 *
 * Model cache: one loaded copy of a model file (canonical path) per
 * process, shared by every element naming it.  A file changed on disk
 * (size, modification time or inode) is a new model: it is loaded again,
 * while holders of the old copy keep theirs until they let go.
 *
 * Scheduler: one per loaded model and segment count T.  Every element
 * (client) evaluating windows of that model queues them there; one thread
 * runs them in batches (ssan_ctx_forward with batch > 1) in the order they
 * were queued, taking at each turn every queued window up to the context's
 * batch size.  A client has at most one window queued or running, so no
 * client can hold the others back by more than one window each: nobody
 * starves.  The context's batch size grows with the windows waiting, up
 * to GST_SSAN_MAX_BATCH (environment; by default 4 windows, fewer for big
 * inputs: a batch holds at most 8x224x224 pixels per channel, so a window of
 * 8 frames at 224x224 runs alone); its scratch memory grows with it (only
 * when more windows wait than it holds, never per window: at most cap - 1
 * times).
 *
 * Thread budget: one per process (gst_ssan_scheduler_set_thread_budget; by
 * default the environment's GST_SSAN_THREADS, else the online cores, read
 * once).  Forward calls of all schedulers run one at a time, each with the
 * budget's threads, so no more than the budget ever compute at once,
 * whatever the number of elements and models.  (Each context keeps its
 * budget - 1 pool threads asleep between calls.)
 *
 * A client in sync mode submits and waits (gst_ssan_scheduler_client_wait)
 * in its streaming thread; in async mode it submits and polls
 * (gst_ssan_scheduler_client_poll) at later buffers: submitting never
 * blocks on inference, and a client whose window is still queued or running
 * is told so (the element skips that window).
 *
 * Thread safety: the functions of one client are called from one thread at
 * a time (its element's streaming thread, or start/stop); different clients
 * and schedulers from any threads.
 */
#ifndef __GST_SSAN_SCHEDULER_H__
#define __GST_SSAN_SCHEDULER_H__

#include <gst/gst.h>

#include "ssan/ssan.h"

G_BEGIN_DECLS

typedef struct _GstSsanModelRef GstSsanModelRef;

/* Loads path, or takes another reference to its loaded copy.  NULL with
 * err filled (err->code SSAN_ERR_IO when the file cannot be read). */
GstSsanModelRef *gst_ssan_model_ref_acquire (
    const gchar *path, ssan_error *err);
void gst_ssan_model_ref_release (GstSsanModelRef *ref);
/* Whether ref's file is still the one it was loaded from. */
gboolean gst_ssan_model_ref_is_current (const GstSsanModelRef *ref);
const ssan_model *gst_ssan_model_ref_get_model (const GstSsanModelRef *ref);
const ssan_info *gst_ssan_model_ref_get_info (const GstSsanModelRef *ref);
/* canonical path */
const gchar *gst_ssan_model_ref_get_path (const GstSsanModelRef *ref);

typedef struct _GstSsanScheduler GstSsanScheduler;
typedef struct _GstSsanSchedulerClient GstSsanSchedulerClient;

/* Process-wide thread budget; n <= 0 restores the default.  Applies from
 * the next forward call of every scheduler. */
void gst_ssan_scheduler_set_thread_budget (gint n);
gint gst_ssan_scheduler_get_thread_budget (void);
/* Most threads ever seen computing at once, process-wide (benchmarks,
 * tests). */
gint gst_ssan_scheduler_get_peak_threads (void);

/* How a client's window went. */
typedef struct {
  gboolean ok;                 /* FALSE: the engine refused it (message) */
  gchar message[512];          /* the engine's error when !ok */
  guint64 tag;                 /* as given to submit */
  GstClockTime inference_time; /* wall time of the forward call that ran it
                                * (a batch: the whole batch's) */
  gint batch;                  /* windows in that forward call */
} GstSsanSchedulerOutcome;

typedef struct {
  guint64 batches; /* forward calls */
  guint64 windows; /* windows they evaluated */
  gint largest_batch;
  gint max_batch; /* the context's batch size now */
  gint clients;
} GstSsanSchedulerStats;

typedef struct {
  guint64 submitted;
  guint64 evaluated; /* results delivered (ok or not) */
  guint64 cancelled; /* removed from the queue before they ran */
} GstSsanSchedulerClientStats;

/* Registers a client of the scheduler of (model, segments): the shared one
 * (created when missing) or, when !shared, a scheduler of its own.  Takes
 * its own reference to model.  NULL with err filled when the context
 * cannot be made (bad segments, no memory). */
GstSsanSchedulerClient *gst_ssan_scheduler_client_new (
    GstSsanModelRef *model, gint segments, gboolean shared, ssan_error *err);
/* Cancels the client's queued window (waits for a running one) and
 * unregisters it; its scheduler goes when its last client does. */
void gst_ssan_scheduler_client_free (GstSsanSchedulerClient *client);

GstSsanScheduler *gst_ssan_scheduler_client_get_scheduler (
    GstSsanSchedulerClient *client);

/* The client's input, float32 [T][3][S][S] (spec §5, normalised), written
 * by the caller while the client is not busy. */
float *gst_ssan_scheduler_client_get_input (GstSsanSchedulerClient *client);
/* The logits of the last finished window, [num_classes], valid from a
 * wait or poll that returned TRUE until the next submit. */
const float *gst_ssan_scheduler_client_get_logits (
    GstSsanSchedulerClient *client);

/* Whether the client's window is queued or running. */
gboolean gst_ssan_scheduler_client_is_busy (GstSsanSchedulerClient *client);
/* Queues the input.  FALSE (nothing queued) while busy.  A finished window
 * not collected by wait or poll is dropped. */
gboolean gst_ssan_scheduler_client_submit (
    GstSsanSchedulerClient *client, guint64 tag);
/* Waits for the submitted window; TRUE with out filled, FALSE when nothing
 * was submitted (or it was collected or cancelled). */
gboolean gst_ssan_scheduler_client_wait (
    GstSsanSchedulerClient *client, GstSsanSchedulerOutcome *out);
/* Like wait, without waiting: TRUE only when the window is finished. */
gboolean gst_ssan_scheduler_client_poll (
    GstSsanSchedulerClient *client, GstSsanSchedulerOutcome *out);
/* Drops the client's window: out of the queue if it has not started,
 * waited for and discarded if running.  The client is idle afterwards. */
void gst_ssan_scheduler_client_cancel (GstSsanSchedulerClient *client);
/* Like cancel, never waiting: TRUE when the client is idle afterwards (its
 * window taken out of the queue, or a finished one discarded); FALSE, with
 * nothing changed, while its window is running. */
gboolean gst_ssan_scheduler_client_try_cancel (GstSsanSchedulerClient *client);

void gst_ssan_scheduler_client_get_stats (
    GstSsanSchedulerClient *client, GstSsanSchedulerClientStats *stats);
void gst_ssan_scheduler_get_stats (
    GstSsanScheduler *sched, GstSsanSchedulerStats *stats);

/* For tests: while paused the scheduler starts no forward call (windows
 * queue up); the batch boundaries that follow are then deterministic. */
void gst_ssan_scheduler_set_paused (GstSsanScheduler *sched, gboolean paused);
/* For tests, process-wide: while held, every scheduler takes its next batch
 * (its windows are running) but does not start the forward call, so that
 * a test can act while a window is being computed.  Release before
 * stopping an element.  wait_held blocks until at least n windows are so
 * held. */
void gst_ssan_scheduler_set_hold (gboolean hold);
void gst_ssan_scheduler_wait_held (gint n);

G_END_DECLS

#endif /* __GST_SSAN_SCHEDULER_H__ */
