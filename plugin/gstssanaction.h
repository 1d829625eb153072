/* ssanaction: action recognition on sliding windows of a video stream. */
#ifndef __GST_SSAN_ACTION_H__
#define __GST_SSAN_ACTION_H__

#include <gst/gst.h>
#include <gst/video/video.h>
#include <gst/base/gstbasetransform.h>

#include "ssan/ssan.h"
#include "gstssanactionmeta.h"

G_BEGIN_DECLS

#define GST_TYPE_SSAN_ACTION (gst_ssan_action_get_type ())
G_DECLARE_FINAL_TYPE (
    GstSsanAction, gst_ssan_action, GST, SSAN_ACTION, GstBaseTransform)

/**
 * GstSsanActionMode:
 * @GST_SSAN_ACTION_MODE_SYNC: evaluate a window before its last frame is
 *   pushed on (exact, reproducible; for files)
 * @GST_SSAN_ACTION_MODE_ASYNC: evaluate on a worker thread while frames flow
 *   on; a window due while the worker is busy is skipped (for live sources)
 */
typedef enum {
  GST_SSAN_ACTION_MODE_SYNC = 0,
  GST_SSAN_ACTION_MODE_ASYNC = 1,
} GstSsanActionMode;

#define GST_TYPE_SSAN_ACTION_MODE (gst_ssan_action_mode_get_type ())
GType gst_ssan_action_mode_get_type (void);

typedef struct _GstSsanModelRef GstSsanModelRef;

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
} GstSsanActionSettings;

struct _GstSsanAction {
  GstBaseTransform parent;

  /* GST_OBJECT_LOCK */
  GstSsanActionSettings settings;
  gboolean reconfigure;      /* a setting the stream depends on changed */
  GstClockTime qos_earliest; /* from QoS events: running time */
  gboolean reopen_results;   /* results-location was set */

  /* Streaming thread (and start/stop); the worker only touches the model,
   * ctx, tensor, logits and result scratch while busy is set. */
  GstSsanActionSettings active; /* settings the running configuration uses */
  gboolean negotiated;
  GstVideoInfo in_info;
  GstSsanModelRef *model;
  const ssan_info *info;
  ssan_ctx *ctx;
  gint T, L, stride, S, n_classes, top_k, smoothing;
  gdouble threshold;
  gint *sample_idx;           /* [T] spec §4 indices inside a window */
  gchar **labels;             /* [n_classes], NULL-terminated */
  GstVideoInfo rgb_info;      /* S x S packed RGB */
  GstVideoConverter *convert; /* input caps -> rgb_info, centre crop */
  guint n_slots;              /* converted frames kept at once */
  guint8 *ring;               /* [n_slots][rgb_info.size] */
  GstBuffer **slot_bufs;      /* wrap ring slots for the converter */
  gint *slot_of;              /* [L] slot of frame n at n % L, or -1 */
  GstClockTime *pts;          /* [L] PTS of frame n at n % L */
  guint64 n_frames;           /* frames since the window was emptied */
  guint64 n_sampled;
  guint64 window_index; /* next window */
  float lut[3][256];    /* pixel -> normalised value, per channel */
  float *tensor;        /* [T][3][S][S] */
  float *logits;        /* [n_classes] */
  gdouble *probs;       /* [smoothing][n_classes] ring */
  gdouble *avg;         /* [n_classes] */
  gint *order;          /* [n_classes] */
  guint n_history;      /* results in the smoothing ring */
  guint history_pos;
  gboolean history_reset;     /* empty the ring before the next result */
  gboolean warned_not_finite; /* streaming thread or busy worker */

  /* lock: worker hand-over, latest result and counters */
  GMutex lock;
  GCond cond;
  GThread *worker;
  gboolean quit;
  gboolean busy;
  gboolean failed;  /* the worker posted an error */
  guint generation; /* bumped by flushes: stale results dropped */
  struct {
    GstClockTime start, end, start_st, end_st;
    guint64 index;
    guint generation;
    gint top_k;
    gdouble threshold;
    gboolean reset_history;
  } job;
  GstSsanActionResult *latest;
  GstStructure *latest_params; /* latest as ROI params / message fields */
  guint64 windows_evaluated;
  guint64 windows_skipped;
  guint64 results_produced;      /* never reset: the next result's result_id */
  GstClockTime worst_delay;      /* longest a sync evaluation held a frame */
  GstClockTime latency_answered; /* own latency last reported */

  gint roi_id; /* set once, at init */

  /* results_lock: the results file, written by the streaming thread (sync)
   * or the worker (async) */
  GMutex results_lock;
  gint results_fd; /* -1: none */
  gchar *results_path;
  gboolean warned_write; /* since the file was opened */
};

GST_ELEMENT_REGISTER_DECLARE (ssanaction);

G_END_DECLS

#endif /* __GST_SSAN_ACTION_H__ */
