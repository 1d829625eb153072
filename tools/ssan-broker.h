/* A private mosquitto broker and a subscriber, for ssanpublish's tests and
 * benchmark: Debian's mosquitto on 127.0.0.1, on a free port, with a
 * config file written here, started and stopped by its pid.
 */
#ifndef SSAN_BROKER_H
#define SSAN_BROKER_H

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  gchar *dir;  /* private folder: config, log, persistence, password file */
  gchar *conf; /* config file */
  gint port;
  GPid pid; /* 0 while stopped */
} SsanBroker;

/* Writes the config (listener on a free port, persistence in dir, no
 * limit on queued messages, max_inflight_messages 65534: see README,
 * "Exactly once at QoS 2"; @extra lines appended, may be NULL) and starts
 * the broker; waits (bounded) until it accepts connections.  FALSE when it
 * did not start.  The broker gets SIGKILL when the thread that started it
 * dies (PR_SET_PDEATHSIG): a crashed test leaves no mosquitto running;
 * start it from a thread that outlives it (the test's main thread). */
gboolean ssan_broker_start (SsanBroker *b, const gchar *extra);
/* Starts it again with the same config and port (persistence kept). */
gboolean ssan_broker_restart (SsanBroker *b);
/* SIGTERM (mosquitto saves its persistence file) and reaps it. */
void ssan_broker_stop (SsanBroker *b);
/* SIGKILL (nothing saved: mosquitto writes its persistence file only at
 * exit and every autosave_interval, by default 1800 s) and reaps it. */
void ssan_broker_kill (SsanBroker *b);
/* Stops it if running, removes the folder. */
void ssan_broker_free (SsanBroker *b);
/* A TCP port on 127.0.0.1 nobody listens on at the time of the call. */
gint ssan_broker_free_port (void);

typedef struct {
  gchar *payload;
  gchar *topic;
  gint64 arrival; /* g_get_monotonic_time () */
} SsanMessage;

typedef struct _SsanSub SsanSub;

/* Connects (client id @id, persistent session unless @clean), subscribes
 * to @topic at @qos and waits for the broker's SUBACK; messages are
 * collected by libmosquitto's thread.  Reconnects by itself. */
SsanSub *ssan_sub_new (
    gint port, const gchar *id, gboolean clean, const gchar *topic, gint qos);
/* Waits until the broker acknowledged @n subscriptions (the subscriber
 * subscribes again on every reconnect: after a broker that lost its
 * sessions, the second one means it is subscribed again). */
gboolean ssan_sub_wait_subscribed (SsanSub *s, guint n, gint timeout_s);
/* Waits until @n messages arrived or @timeout_s passed; returns the count. */
guint ssan_sub_wait (SsanSub *s, guint n, gint timeout_s);
/* Publishes @payload on @topic (QoS 1) from the subscriber's own client
 * and waits until it comes back: every message the broker had for us
 * before it has then arrived.  FALSE on timeout. */
gboolean ssan_sub_sync (SsanSub *s, const gchar *topic, gint timeout_s);
/* The messages so far (SsanMessage *, owned by @s), without sync markers;
 * the array is a snapshot, freed by the caller. */
GPtrArray *ssan_sub_messages (SsanSub *s);
void ssan_sub_free (SsanSub *s);

G_END_DECLS

#endif /* SSAN_BROKER_H */
