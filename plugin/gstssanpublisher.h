/* ssanpublish's delivery side: a bounded backlog of messages and the thread
 * that delivers them, to an MQTT broker (libmosquitto) or to a JSON Lines
 * file.  Plain GLib: the element (gstssanpublish.c) turns its events into
 * bus messages.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef __GST_SSAN_PUBLISHER_H__
#define __GST_SSAN_PUBLISHER_H__

#include <glib.h>

G_BEGIN_DECLS

/* Messages handed to libmosquitto and not yet confirmed (PUBACK for QoS 1,
 * PUBCOMP for QoS 2, written for QoS 0), beyond the backlog.  MQTT 3.1.1
 * does not negotiate it: 20 is mosquitto's default max_inflight_messages,
 * past which it drops a client that has more QoS 2 messages unfinished. */
#define GST_SSAN_PUBLISHER_MAX_INFLIGHT 20

typedef enum {
  GST_SSAN_PUBLISHER_MQTT,
  GST_SSAN_PUBLISHER_FILE,
} GstSsanPublisherKind;

/* Every string is copied by gst_ssan_publisher_new (); NULL: unset. */
typedef struct {
  GstSsanPublisherKind kind;
  /* MQTT */
  const gchar *host;
  gint port;
  gboolean tls; /* TLS with ca_file (NULL: the system's CAs) */
  const gchar *client_id;
  const gchar *username;
  const gchar *password;
  const gchar *ca_file;
  const gchar *cert_file; /* client certificate, with key_file */
  const gchar *key_file;
  gint qos;                /* 0, 1 or 2 */
  gint keepalive;          /* seconds */
  gboolean clean_session;  /* FALSE: the broker keeps the session */
  const gchar *will_topic; /* NULL: no last will */
  const gchar *will_message;
  /* file */
  const gchar *path;
  gboolean append;
  /* both */
  guint max_backlog; /* messages waiting, not counting those in flight */
} GstSsanPublisherConfig;

typedef enum {
  /* detail: "host:port" */
  GST_SSAN_PUBLISHER_CONNECTED,
  /* a warning, once per outage: could not connect or connection lost;
   * retrying.  detail: the reason */
  GST_SSAN_PUBLISHER_RETRYING,
  /* an error: the broker refused the connection (credentials, client id,
   * protocol); no more retries.  detail: the broker's reason */
  GST_SSAN_PUBLISHER_REFUSED,
  /* a warning, once per outage: the backlog is full, the oldest messages
   * are dropped */
  GST_SSAN_PUBLISHER_DROPPING,
  /* a warning, once: a write to the file failed.  detail: strerror */
  GST_SSAN_PUBLISHER_WRITE_FAILED,
} GstSsanPublisherEvent;

/* Called from the publishing thread, or (DROPPING) from the thread calling
 * gst_ssan_publisher_push (); never with a lock held. */
typedef void (*GstSsanPublisherNotify) (
    gpointer user_data, GstSsanPublisherEvent event, const gchar *detail);

typedef struct _GstSsanPublisher GstSsanPublisher;

/* Checks the configuration (TLS files readable, file openable), starts the
 * thread; the MQTT connection is made there, in the background.  NULL and
 * @error set on failure. */
GstSsanPublisher *gst_ssan_publisher_new (const GstSsanPublisherConfig *cfg,
    GstSsanPublisherNotify notify, gpointer user_data, GError **error);

/* Queues one message (takes @topic, NULL for files, and @payload, one JSON
 * object without newline).  Never blocks: a full backlog drops its oldest
 * message. */
void gst_ssan_publisher_push (
    GstSsanPublisher *pub, gchar *topic, gchar *payload);

/* Waits until everything queued is delivered, for at most @timeout_us, and
 * only while connected (a broker that is away is not waited for).  TRUE
 * when nothing is left. */
gboolean gst_ssan_publisher_drain (GstSsanPublisher *pub, gint64 timeout_us);

typedef struct {
  guint64 published; /* confirmed delivered (broker's ack) or written */
  guint64 dropped;   /* dropped from a full backlog */
  guint backlog;     /* waiting, including those in flight */
  gboolean connected;
} GstSsanPublisherStats;

void gst_ssan_publisher_get_stats (
    GstSsanPublisher *pub, GstSsanPublisherStats *stats);

/* Stops the thread (disconnecting cleanly, so no last will), frees
 * everything; returns the number of messages that were still undelivered,
 * and the final counters in @stats (nullable). */
guint gst_ssan_publisher_free (
    GstSsanPublisher *pub, GstSsanPublisherStats *stats);

G_END_DECLS

#endif /* __GST_SSAN_PUBLISHER_H__ */
