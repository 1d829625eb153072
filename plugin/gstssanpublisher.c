/* ssanpublish's delivery thread and bounded backlog.
 *
 * The streaming thread only appends to a queue under a short lock and
 * writes one byte to a pipe; everything else (connecting, TLS, publishing,
 * retries, keepalive, file writes) happens on the publisher's own thread.
 * libmosquitto is driven from that thread alone: poll () on its socket and
 * the wake-up pipe, then mosquitto_loop () with a zero timeout, which does
 * the reading, writing, TLS handshake and keepalive.
 *
 * At most GST_SSAN_PUBLISHER_MAX_INFLIGHT messages are handed to
 * libmosquitto at a time and only while connected; the rest wait in our
 * queue, which is the bounded backlog.  libmosquitto keeps the QoS 1/2
 * messages it was handed until the broker confirms them and resends them,
 * in order, after a reconnect; QoS 0 ones in its hands at a disconnect are
 * gone (at most once).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstssanpublisher.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <glib-unix.h>
#include <mosquitto.h>

#define RETRY_MIN_MS 250
#define RETRY_MAX_MS 5000

typedef struct {
  gchar *topic;
  gchar *payload;
} Item;

struct _GstSsanPublisher {
  GstSsanPublisherKind kind;
  gchar *host, *path;
  gint port, qos, keepalive;
  guint max_backlog;

  GstSsanPublisherNotify notify;
  gpointer user_data;

  GMutex lock;
  GCond cond; /* queue, in-flight count, connection or stopping changed */
  GQueue queue;
  guint inflight;
  guint64 published, dropped;
  gboolean connected, stopping, dropping;

  GThread *thread;
  gint wake[2]; /* the streaming thread's nudge to the MQTT thread */
  struct mosquitto *mosq;
  int connack; /* the last CONNACK's code (MQTT thread only) */
  FILE *file;
  gboolean write_failed;
};

static void
item_free (Item *it)
{
  g_free (it->topic);
  g_free (it->payload);
  g_free (it);
}

/* A full pipe already holds a wake-up: EAGAIN is fine. */
static void
wake_thread (GstSsanPublisher *pub)
{
  ssize_t n G_GNUC_UNUSED;

  if (pub->wake[1] >= 0)
    n = write (pub->wake[1], "", 1);
}

static GQuark
gst_ssan_publisher_error_quark (void)
{
  return g_quark_from_static_string ("gst-ssan-publisher-error");
}

/* A write to a vanished reader (FIFO, pipe, TLS peer) must give EPIPE to
 * this thread, never a SIGPIPE to the whole process. */
static void
block_sigpipe (void)
{
  sigset_t set;

  sigemptyset (&set);
  sigaddset (&set, SIGPIPE);
  pthread_sigmask (SIG_BLOCK, &set, NULL);
}

/* Consumes a SIGPIPE made pending on this thread by a failed write. */
static void
eat_sigpipe (void)
{
  sigset_t set;
  struct timespec zero = { 0, 0 };

  sigemptyset (&set);
  sigaddset (&set, SIGPIPE);
  while (sigtimedwait (&set, NULL, &zero) == SIGPIPE)
    ;
}

/* --- MQTT ---------------------------------------------------------------- */

static void
on_connect (struct mosquitto *mosq, void *data, int rc)
{
  GstSsanPublisher *pub = data;

  if (rc != 0)
    return; /* seen by the loop as a failed mosquitto_loop () */
  g_mutex_lock (&pub->lock);
  pub->connected = TRUE;
  pub->dropping = FALSE;
  g_cond_broadcast (&pub->cond);
  g_mutex_unlock (&pub->lock);
}

static void
on_disconnect (struct mosquitto *mosq, void *data, int rc)
{
  GstSsanPublisher *pub = data;

  g_mutex_lock (&pub->lock);
  pub->connected = FALSE;
  /* QoS 0 messages still in libmosquitto's hands are lost; QoS 1/2 ones
   * are resent after the reconnect and confirmed then */
  if (pub->qos == 0)
    pub->inflight = 0;
  g_cond_broadcast (&pub->cond);
  g_mutex_unlock (&pub->lock);
}

static void
on_publish (struct mosquitto *mosq, void *data, int mid)
{
  GstSsanPublisher *pub = data;

  g_mutex_lock (&pub->lock);
  if (pub->inflight > 0)
    pub->inflight--;
  pub->published++;
  g_cond_broadcast (&pub->cond);
  g_mutex_unlock (&pub->lock);
}

/* For QoS 1 and 2, mosquitto_publish () queues the message before it tries
 * to send it: when sending fails because the connection just broke, the
 * message is in libmosquitto's hands all the same and is resent after the
 * reconnect.  Only these errors mean it was not queued. */
static gboolean
mqtt_not_queued (int rc)
{
  return rc == MOSQ_ERR_INVAL || rc == MOSQ_ERR_NOMEM
         || rc == MOSQ_ERR_PAYLOAD_SIZE || rc == MOSQ_ERR_MALFORMED_UTF8
         || rc == MOSQ_ERR_QOS_NOT_SUPPORTED || rc == MOSQ_ERR_OVERSIZE_PACKET;
}

/* Hands queued messages to libmosquitto while connected and the in-flight
 * window has room.  A QoS 0 message libmosquitto could not send (the
 * connection just went away) goes back to the head of the queue; one it
 * can never take (a malformed topic, too large) is dropped and counted. */
static void
mqtt_hand_over (GstSsanPublisher *pub)
{
  for (;;) {
    Item *it;
    int rc;

    g_mutex_lock (&pub->lock);
    if (!pub->connected || pub->inflight >= GST_SSAN_PUBLISHER_MAX_INFLIGHT
        || g_queue_is_empty (&pub->queue)) {
      g_mutex_unlock (&pub->lock);
      return;
    }
    it = g_queue_pop_head (&pub->queue);
    pub->inflight++;
    g_mutex_unlock (&pub->lock);

    rc = mosquitto_publish (pub->mosq, NULL, it->topic,
        (int)strlen (it->payload), it->payload, pub->qos, false);
    if (rc == MOSQ_ERR_SUCCESS || (pub->qos > 0 && !mqtt_not_queued (rc))) {
      item_free (it);
      if (rc != MOSQ_ERR_SUCCESS)
        return;
      continue;
    }
    g_mutex_lock (&pub->lock);
    pub->inflight--;
    if (mqtt_not_queued (rc)) {
      pub->dropped++;
      item_free (it);
    } else {
      g_queue_push_head (&pub->queue, it);
    }
    g_mutex_unlock (&pub->lock);
    if (!mqtt_not_queued (rc))
      return;
  }
}

static gchar *
mqtt_reason (int rc, int saved_errno)
{
  if (rc == MOSQ_ERR_ERRNO)
    return g_strdup (g_strerror (saved_errno));
  return g_strdup (mosquitto_strerror (rc));
}

static void
on_connect_rc (struct mosquitto *mosq, void *data, int rc)
{
  GstSsanPublisher *pub = data;

  pub->connack = rc;
  on_connect (mosq, data, rc);
}

/* The CONNACK codes that retrying cannot cure: 1 protocol version, 2 client
 * id rejected, 4 bad user name or password, 5 not authorised (3, server
 * unavailable, is retried). */
static gboolean
connack_is_final (int rc)
{
  return rc == 1 || rc == 2 || rc == 4 || rc == 5;
}

static gpointer
gst_ssan_publisher_mqtt_thread (gpointer data)
{
  GstSsanPublisher *pub = data;
  gboolean have_socket = FALSE, announced = FALSE, warned = FALSE;
  gboolean first = TRUE;
  gint64 next_try = 0;
  gint backoff = RETRY_MIN_MS;
  gchar *where = g_strdup_printf ("%s:%d", pub->host, pub->port);

  block_sigpipe ();

  for (;;) {
    struct pollfd fds[2];
    gint64 now = g_get_monotonic_time ();
    gint timeout = 1000, nfds = 1, rc, saved_errno = 0;
    gchar *reason = NULL;
    gboolean stopping, connected;

    g_mutex_lock (&pub->lock);
    stopping = pub->stopping;
    connected = pub->connected;
    g_mutex_unlock (&pub->lock);
    if (stopping)
      break;

    if (!have_socket && now >= next_try) {
      pub->connack = 0;
      errno = 0;
      rc = first ? mosquitto_connect_async (
               pub->mosq, pub->host, pub->port, pub->keepalive)
                 : mosquitto_reconnect_async (pub->mosq);
      saved_errno = errno;
      first = FALSE;
      if (rc == MOSQ_ERR_SUCCESS)
        have_socket = TRUE;
      else
        reason = mqtt_reason (rc, saved_errno);
    }

    if (have_socket && connected) {
      if (!announced) {
        pub->notify (pub->user_data, GST_SSAN_PUBLISHER_CONNECTED, where);
        announced = TRUE;
        warned = FALSE;
        backoff = RETRY_MIN_MS;
      }
      /* a refusal shows up in mosquitto_loop () below */
      mqtt_hand_over (pub);
    }

    fds[0].fd = pub->wake[0];
    fds[0].events = POLLIN;
    fds[0].revents = 0;
    if (have_socket && mosquitto_socket (pub->mosq) >= 0) {
      fds[1].fd = mosquitto_socket (pub->mosq);
      fds[1].events = POLLIN | (mosquitto_want_write (pub->mosq) ? POLLOUT : 0);
      fds[1].revents = 0;
      nfds = 2;
    } else if (!have_socket) {
      timeout = (gint)CLAMP ((next_try - now) / 1000, 0, 1000);
    }
    if (reason == NULL && poll (fds, nfds, timeout) > 0
        && (fds[0].revents & POLLIN)) {
      gchar buf[64];
      while (read (pub->wake[0], buf, sizeof buf) > 0)
        ;
    }

    if (have_socket && reason == NULL) {
      errno = 0;
      rc = mosquitto_loop (pub->mosq, 0, 1);
      saved_errno = errno;
      if (rc != MOSQ_ERR_SUCCESS) {
        have_socket = FALSE;
        announced = FALSE;
        if (connack_is_final (pub->connack)) {
          pub->notify (pub->user_data, GST_SSAN_PUBLISHER_REFUSED,
              mosquitto_connack_string (pub->connack));
          break;
        }
        reason = pub->connack
                     ? g_strdup (mosquitto_connack_string (pub->connack))
                     : mqtt_reason (rc, saved_errno);
      }
    }

    if (reason) {
      g_mutex_lock (&pub->lock);
      pub->connected = FALSE;
      g_mutex_unlock (&pub->lock);
      if (!warned) {
        gchar *detail = g_strdup_printf ("%s: %s", where, reason);
        pub->notify (pub->user_data, GST_SSAN_PUBLISHER_RETRYING, detail);
        g_free (detail);
        warned = TRUE;
      }
      g_free (reason);
      next_try = g_get_monotonic_time () + (gint64)backoff * 1000;
      backoff = MIN (backoff * 2, RETRY_MAX_MS);
    }
  }

  g_mutex_lock (&pub->lock);
  /* refused: nothing to do but wait for the element to stop */
  while (!pub->stopping)
    g_cond_wait (&pub->cond, &pub->lock);
  if (pub->connected) {
    g_mutex_unlock (&pub->lock);
    /* a clean DISCONNECT: the broker discards the last will */
    mosquitto_disconnect (pub->mosq);
    mosquitto_loop (pub->mosq, 0, 1);
    g_mutex_lock (&pub->lock);
  }
  pub->connected = FALSE;
  g_mutex_unlock (&pub->lock);

  g_free (where);
  return NULL;
}

/* --- file ---------------------------------------------------------------- */

static gpointer
gst_ssan_publisher_file_thread (gpointer data)
{
  GstSsanPublisher *pub = data;

  block_sigpipe ();

  g_mutex_lock (&pub->lock);
  for (;;) {
    Item *it;
    gboolean ok;

    while (g_queue_is_empty (&pub->queue) && !pub->stopping)
      g_cond_wait (&pub->cond, &pub->lock);
    if (g_queue_is_empty (&pub->queue))
      break;
    it = g_queue_pop_head (&pub->queue);
    pub->inflight = 1;
    g_mutex_unlock (&pub->lock);

    ok = fputs (it->payload, pub->file) >= 0 && fputc ('\n', pub->file) != EOF
         && fflush (pub->file) == 0;
    if (!ok) {
      gint saved_errno = errno;

      eat_sigpipe ();
      clearerr (pub->file);
      if (!pub->write_failed) {
        pub->notify (pub->user_data, GST_SSAN_PUBLISHER_WRITE_FAILED,
            g_strerror (saved_errno));
        pub->write_failed = TRUE;
      }
    }
    item_free (it);

    g_mutex_lock (&pub->lock);
    pub->inflight = 0;
    if (ok)
      pub->published++;
    g_cond_broadcast (&pub->cond);
  }
  g_mutex_unlock (&pub->lock);
  return NULL;
}

/* --- API ----------------------------------------------------------------- */

static gboolean
check_readable (const gchar *what, const gchar *path, GError **error)
{
  GStatBuf st;
  gint fd, saved_errno;

  if (path == NULL)
    return TRUE;
  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) {
    saved_errno = errno;
    goto failed;
  }
  saved_errno = fstat (fd, &st) != 0   ? errno
                : S_ISREG (st.st_mode) ? 0
                                       : EISDIR;
  close (fd);
  if (saved_errno == 0)
    return TRUE;

failed:
  g_set_error (error, gst_ssan_publisher_error_quark (), 0,
      "Could not read the TLS %s \"%s\": %s", what, path,
      saved_errno == EISDIR ? "not a regular file" : g_strerror (saved_errno));
  return FALSE;
}

static gboolean
gst_ssan_publisher_setup_mqtt (
    GstSsanPublisher *pub, const GstSsanPublisherConfig *cfg, GError **error)
{
  static gsize lib_init = 0;
  int rc;

  if (g_once_init_enter (&lib_init)) {
    mosquitto_lib_init ();
    g_once_init_leave (&lib_init, 1);
  }

  if (!check_readable ("CA file", cfg->ca_file, error)
      || !check_readable ("certificate file", cfg->cert_file, error)
      || !check_readable ("key file", cfg->key_file, error))
    return FALSE;
  if ((cfg->cert_file == NULL) != (cfg->key_file == NULL)) {
    g_set_error (error, gst_ssan_publisher_error_quark (), 0,
        "A TLS client certificate needs both cert-file and key-file.");
    return FALSE;
  }

  pub->mosq = mosquitto_new (cfg->client_id, cfg->clean_session, pub);
  if (pub->mosq == NULL) {
    g_set_error (error, gst_ssan_publisher_error_quark (), 0,
        "Could not create an MQTT client with id \"%s\": %s", cfg->client_id,
        g_strerror (errno));
    return FALSE;
  }
  mosquitto_int_option (
      pub->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  mosquitto_int_option (pub->mosq, MOSQ_OPT_TCP_NODELAY, 1);
  mosquitto_max_inflight_messages_set (
      pub->mosq, GST_SSAN_PUBLISHER_MAX_INFLIGHT);
  mosquitto_connect_callback_set (pub->mosq, on_connect_rc);
  mosquitto_disconnect_callback_set (pub->mosq, on_disconnect);
  mosquitto_publish_callback_set (pub->mosq, on_publish);

  if (cfg->username) {
    rc = mosquitto_username_pw_set (pub->mosq, cfg->username, cfg->password);
    if (rc != MOSQ_ERR_SUCCESS)
      goto mosq_failed;
  }
  if (cfg->tls) {
    if (cfg->ca_file == NULL)
      mosquitto_int_option (pub->mosq, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
    rc = mosquitto_tls_set (
        pub->mosq, cfg->ca_file, NULL, cfg->cert_file, cfg->key_file, NULL);
    if (rc != MOSQ_ERR_SUCCESS)
      goto mosq_failed;
  }
  if (cfg->will_topic) {
    const gchar *msg = cfg->will_message ? cfg->will_message : "";
    rc = mosquitto_will_set (
        pub->mosq, cfg->will_topic, (int)strlen (msg), msg, cfg->qos, false);
    if (rc != MOSQ_ERR_SUCCESS)
      goto mosq_failed;
  }

  if (pipe2 (pub->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    g_set_error (error, gst_ssan_publisher_error_quark (), 0,
        "Could not create a pipe: %s", g_strerror (errno));
    return FALSE;
  }
  return TRUE;

  /* ERRORS */
mosq_failed : {
  g_set_error (error, gst_ssan_publisher_error_quark (), 0,
      "Could not set up the MQTT client: %s", mosquitto_strerror (rc));
  return FALSE;
}
}

GstSsanPublisher *
gst_ssan_publisher_new (const GstSsanPublisherConfig *cfg,
    GstSsanPublisherNotify notify, gpointer user_data, GError **error)
{
  GstSsanPublisher *pub = g_new0 (GstSsanPublisher, 1);
  GError *err = NULL;

  pub->kind = cfg->kind;
  pub->host = g_strdup (cfg->host);
  pub->path = g_strdup (cfg->path);
  pub->port = cfg->port;
  pub->qos = cfg->qos;
  pub->keepalive = cfg->keepalive;
  pub->max_backlog = MAX (cfg->max_backlog, 1);
  pub->notify = notify;
  pub->user_data = user_data;
  pub->wake[0] = pub->wake[1] = -1;
  g_mutex_init (&pub->lock);
  g_cond_init (&pub->cond);
  g_queue_init (&pub->queue);

  if (cfg->kind == GST_SSAN_PUBLISHER_FILE) {
    pub->file = fopen (cfg->path, cfg->append ? "ae" : "we");
    if (pub->file == NULL) {
      gint saved_errno = errno;
      g_set_error (error, gst_ssan_publisher_error_quark (), 0,
          "Could not open \"%s\" for writing: %s", cfg->path,
          g_strerror (saved_errno));
      goto failed;
    }
    pub->thread = g_thread_try_new (
        "ssanpublish", gst_ssan_publisher_file_thread, pub, &err);
  } else {
    if (!gst_ssan_publisher_setup_mqtt (pub, cfg, error))
      goto failed;
    pub->thread = g_thread_try_new (
        "ssanpublish", gst_ssan_publisher_mqtt_thread, pub, &err);
  }
  if (pub->thread == NULL) {
    g_propagate_prefixed_error (
        error, err, "Could not start the publishing thread: ");
    goto failed;
  }
  return pub;

failed:
  gst_ssan_publisher_free (pub, NULL);
  return NULL;
}

void
gst_ssan_publisher_push (GstSsanPublisher *pub, gchar *topic, gchar *payload)
{
  Item *it = g_new (Item, 1);
  gboolean warn = FALSE;

  it->topic = topic;
  it->payload = payload;

  g_mutex_lock (&pub->lock);
  if (g_queue_get_length (&pub->queue) >= pub->max_backlog) {
    item_free (g_queue_pop_head (&pub->queue));
    pub->dropped++;
    warn = !pub->dropping;
    pub->dropping = TRUE;
  }
  g_queue_push_tail (&pub->queue, it);
  g_cond_broadcast (&pub->cond);
  g_mutex_unlock (&pub->lock);

  wake_thread (pub);
  if (warn)
    pub->notify (pub->user_data, GST_SSAN_PUBLISHER_DROPPING, NULL);
}

gboolean
gst_ssan_publisher_drain (GstSsanPublisher *pub, gint64 timeout_us)
{
  gint64 end = g_get_monotonic_time () + timeout_us;
  gboolean done;

  g_mutex_lock (&pub->lock);
  for (;;) {
    done = g_queue_is_empty (&pub->queue) && pub->inflight == 0;
    if (done || (pub->kind == GST_SSAN_PUBLISHER_MQTT && !pub->connected))
      break;
    if (!g_cond_wait_until (&pub->cond, &pub->lock, end))
      break;
  }
  g_mutex_unlock (&pub->lock);
  return done;
}

void
gst_ssan_publisher_get_stats (
    GstSsanPublisher *pub, GstSsanPublisherStats *stats)
{
  g_mutex_lock (&pub->lock);
  stats->published = pub->published;
  stats->dropped = pub->dropped;
  stats->backlog = g_queue_get_length (&pub->queue) + pub->inflight;
  stats->connected = pub->connected;
  g_mutex_unlock (&pub->lock);
}

guint
gst_ssan_publisher_free (GstSsanPublisher *pub, GstSsanPublisherStats *stats)
{
  guint left;

  if (pub->thread) {
    g_mutex_lock (&pub->lock);
    pub->stopping = TRUE;
    g_cond_broadcast (&pub->cond);
    g_mutex_unlock (&pub->lock);
    wake_thread (pub);
    g_thread_join (pub->thread);
  }
  if (stats)
    gst_ssan_publisher_get_stats (pub, stats);
  left = g_queue_get_length (&pub->queue) + pub->inflight;
  g_queue_clear_full (&pub->queue, (GDestroyNotify)item_free);
  if (pub->mosq)
    mosquitto_destroy (pub->mosq);
  if (pub->file)
    fclose (pub->file);
  if (pub->wake[0] >= 0)
    close (pub->wake[0]);
  if (pub->wake[1] >= 0)
    close (pub->wake[1]);
  g_mutex_clear (&pub->lock);
  g_cond_clear (&pub->cond);
  g_free (pub->host);
  g_free (pub->path);
  g_free (pub);
  return left;
}
