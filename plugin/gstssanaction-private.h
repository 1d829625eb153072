/* ssanaction's private parts, shared by its files (not installed).
 *
 * A frame's path through the files:
 * - gstssanaction.c, transform_ip (): the element.  Hands the frame to the
 *   window (ssanwindow.h), which says whether to convert it into one of the
 *   frame slots (spec §5; the converter made when caps are set) and whether
 *   a window is complete; a complete window becomes a job.
 * - gstssanactionworker.c: fill_tensor () turns the window's slots into the
 *   job's scheduler client input; evaluate () runs it through the shared
 *   scheduler (gstssanscheduler.h: batches, thread budget) in the streaming
 *   thread (sync) or the worker thread (async, worker ()), and publish ()
 *   turns the logits into a result (ssanpostproc.h) and sends it out
 *   (message, JSON line, latest result; gstssanactionoutput.h).
 * - gstssanactionobjects.c, with inference-region=roi: process_objects ()
 *   does the same per tracked object (ssanroi.h: the objects' table, crops,
 *   the scaler), queueing the windows of the objects that complete on a
 *   frame together; attach_objects () puts each object's latest result on
 *   its ROI meta.
 * - gstssanaction.c, attach (): the latest full-frame result on every
 *   buffer (meta, ROI).
 */
#ifndef __GST_SSAN_ACTION_PRIVATE_H__
#define __GST_SSAN_ACTION_PRIVATE_H__

#include "gstssanaction.h"
#include "gstssanactionmeta.h"
#include "gstssanactionoutput.h"
#include "gstssanscheduler.h"
#include "ssanpostproc.h"
#include "ssanroi.h"
#include "ssanwindow.h"

G_BEGIN_DECLS

GST_DEBUG_CATEGORY_EXTERN (gst_ssan_action_debug);

#define GST_SSAN_ACTION_MAX_OBJECTS 256 /* max-objects */
#define GST_SSAN_ACTION_MAX_TOP_K 1000  /* top-k */

/* Settings as the properties last set them (GST_OBJECT_LOCK). */
typedef struct {
  gchar *model;
  gchar *labels;
  gint segments;
  gint window_frames;
  gint stride;
  gint threads;
  GstSsanActionMode mode;
  gint smoothing;
  gdouble threshold;
  gint top_k;
  gchar *results_location;
  GstClockTime latency;
  gboolean qos;
  gboolean results_append;
  gboolean window_by_time;
  gboolean shared_scheduler;
  GstSsanActionRegion inference_region;
  gchar *object_class;
  gint max_objects;
  gint max_missing;
  gdouble roi_margin;
} GstSsanActionSettings;

typedef struct _GstSsanActionObject GstSsanActionObject;

/* One window handed to evaluation: what it covers, whose input holds it
 * and how to report it. */
typedef struct {
  GstClockTime start, end, start_st, end_st; /* PTS and stream times */
  guint64 index;
  guint generation; /* the element's when the window was cut */
  gint top_k;
  gdouble threshold;
  gboolean reset_history;         /* empty the smoothing history first */
  GstSsanSchedulerClient *client; /* its input: the window's tensor */
  ssan_postproc *postproc;        /* the smoothing history it goes into */
  GstSsanActionObject *obj;       /* inference-region=roi: whose, else NULL */
  GstSsanActionObjectInfo object; /* obj's box in the window's last frame */
} GstSsanActionJob;

/* inference-region=roi: the state of one tracked object, in the slot the
 * object table (ssanroi.h) gave it.  A slot's memory is made when an object
 * first takes it and kept for the objects after it (at most max-objects).
 * Streaming thread only. */
struct _GstSsanActionObject {
  gboolean allocated;
  ssan_window *window;
  guint n_slots;
  guint8 *ring; /* [n_slots][rgb_info.size] */
  ssan_postproc *postproc;
  GstSsanSchedulerClient *client;
  guint64 window_index;
  gboolean history_reset;
  gboolean pending;  /* a window of it is in the scheduler */
  gboolean orphaned; /* that window is of an object gone: dropped */
  GstSsanActionJob job;
  GstSsanActionObjectInfo box; /* its box in the current frame */
  GstStructure *latest_params; /* its latest result, as ROI params */
};

/* The instance.  Who touches what: see the lock comments. */
struct _GstSsanAction {
  GstBaseTransform parent;

  /* GST_OBJECT_LOCK */
  GstSsanActionSettings settings;
  gboolean reconfigure;         /* a setting the stream depends on changed */
  GstClockTime qos_earliest;    /* from QoS events: running time */
  gboolean reopen_results;      /* results-location was set */
  gint active_L, active_stride; /* the window's, once caps are known */

  /* Streaming thread (and start/stop); the worker only touches the
   * client, postproc and labels while busy is set. */
  GstSsanActionSettings active; /* settings the running configuration uses */
  gboolean negotiated;
  GstVideoInfo in_info;
  GstSsanModelRef *model;
  const ssan_info *info;
  GstSsanSchedulerClient *client; /* its input: the window's tensor */
  gint T, S, n_classes;
  gchar **labels;                  /* [n_classes], NULL-terminated */
  GstVideoInfo rgb_info;           /* S x S packed RGB */
  GstVideoConverter *convert;      /* input caps -> rgb_info, centre crop */
  ssan_window *window;             /* which frames, which slots, when */
  guint n_slots;                   /* converted frames kept at once */
  guint8 *ring;                    /* [n_slots][rgb_info.size] */
  GstBuffer **slot_bufs;           /* wrap ring slots for the converter */
  guint64 n_frames;                /* frames since the window was emptied */
  GstClockTime last_pts;           /* of the frame before */
  guint64 window_index;            /* next window */
  float lut[3][256];               /* pixel -> normalised value, per channel */
  ssan_postproc *postproc;         /* smoothing history, top-k */
  ssan_objects *objects;           /* inference-region=roi: tracked objects */
  GstSsanActionObject *obj;        /* [max-objects], by the table's slots */
  GstVideoConverter *full_convert; /* input -> full_info, objects' frames */
  GstVideoInfo full_info;          /* W x H packed RGB */
  guint8 *full_rgb;                /* [full_info.size] */
  GstBuffer *full_buf;             /* wraps full_rgb for full_convert */
  ssan_scaler *scaler;             /* objects' crops of it -> S x S */
  GQuark object_class;             /* 0: any ROI type but "action" */
  ssan_window_plan plan;           /* of the windows (also the objects') */
  gboolean history_reset;     /* empty the history before the next result */
  gboolean warned_not_finite; /* streaming thread or busy worker */

  /* lock: worker hand-over, latest result and counters */
  GMutex lock;
  GCond cond;
  GThread *worker;
  gboolean quit;
  gboolean busy;
  gboolean failed;  /* the worker posted an error */
  guint generation; /* bumped by flushes: stale results dropped */
  GstSsanActionJob job;
  GstSsanActionResult *latest;
  GstStructure *latest_params; /* latest as ROI params / message fields */
  guint64 windows_evaluated;
  guint64 windows_skipped;
  guint64 objects_evicted;  /* objects whose window a newcomer took */
  guint64 rois_ignored;     /* ROIs without a window: table full, bad box */
  guint64 results_produced; /* never reset: the next result's result_id */
  GstClockTime worst_delay; /* longest a sync evaluation held a frame */
  GstClockTime latency_answered; /* own latency last reported */

  gint roi_id; /* set once, at init */

  /* results_lock: the results file, written by the streaming thread (sync)
   * or the worker (async) */
  GMutex results_lock;
  gint results_fd; /* -1: none */
  gchar *results_path;
  gboolean warned_write; /* since the file was opened */
};

/* gstssanaction.c */
GstVideoConverter *gst_ssan_action_new_converter (
    const GstVideoInfo *in, const GstVideoInfo *rgb, const ssan_crop *crop);
void gst_ssan_action_note_delay (GstSsanAction *self, GstClockTime delay);
gboolean gst_ssan_action_qos_late (GstSsanAction *self, GstClockTime pts);
GstClockTime gst_ssan_action_job_times (GstSsanAction *self,
    ssan_window *window, gboolean reverse, GstSsanActionJob *job);

/* gstssanactionworker.c: evaluation and publication */
void gst_ssan_action_clear_latest (GstSsanAction *self);
void gst_ssan_action_wait_idle (GstSsanAction *self);
void gst_ssan_action_fill_tensor (GstSsanAction *self, ssan_window *window,
    const guint8 *ring, GstSsanSchedulerClient *client, gboolean reverse);
gboolean gst_ssan_action_publish (GstSsanAction *self,
    const GstSsanActionJob *job, const GstSsanSchedulerOutcome *out);
gboolean gst_ssan_action_evaluate (
    GstSsanAction *self, const GstSsanActionJob *job);
gpointer gst_ssan_action_worker (gpointer data);

/* gstssanactionobjects.c: inference-region=roi */
void gst_ssan_action_objects_clear (GstSsanAction *self, gboolean keep);
void gst_ssan_action_objects_free (GstSsanAction *self);
gboolean gst_ssan_action_setup_full (
    GstSsanAction *self, const GstVideoInfo *in);
gboolean gst_ssan_action_collect_objects (GstSsanAction *self, gboolean wait);
GstFlowReturn gst_ssan_action_process_objects (GstSsanAction *self,
    GstBuffer *buf, GstSsanActionMode mode, gint top_k, gdouble threshold,
    gboolean reverse);
void gst_ssan_action_attach_objects (GstSsanAction *self, GstBuffer *buf);

G_END_DECLS

#endif /* __GST_SSAN_ACTION_PRIVATE_H__ */
