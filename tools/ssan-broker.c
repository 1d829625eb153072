/* A private mosquitto broker and a subscriber (see ssan-broker.h). */
#include "ssan-broker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <mosquitto.h>

#define SYNC_PREFIX "__ssan_sync__"

gint
ssan_broker_free_port (void)
{
  struct sockaddr_in a = { 0 };
  socklen_t len = sizeof a;
  gint fd = socket (AF_INET, SOCK_STREAM, 0), port = 0;

  if (fd < 0)
    return 0;
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (bind (fd, (struct sockaddr *)&a, sizeof a) == 0
      && getsockname (fd, (struct sockaddr *)&a, &len) == 0)
    port = ntohs (a.sin_port);
  close (fd);
  return port;
}

static gboolean
port_accepts (gint port)
{
  struct sockaddr_in a = { 0 };
  gint fd = socket (AF_INET, SOCK_STREAM, 0);
  gboolean ok;

  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  a.sin_port = htons (port);
  ok = fd >= 0 && connect (fd, (struct sockaddr *)&a, sizeof a) == 0;
  if (fd >= 0)
    close (fd);
  return ok;
}

/* In the child, before exec: the broker gets SIGKILL when the thread that
 * started it (the test's) dies, however it dies.  If that happened before
 * the prctl (), the child has a new parent already: do not exec. */
static void
broker_child_setup (gpointer data)
{
  pid_t parent = GPOINTER_TO_INT (data);

  if (prctl (PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid () != parent)
    _exit (127);
}

gboolean
ssan_broker_restart (SsanBroker *b)
{
  const gchar *exe
      = g_file_test ("/usr/sbin/mosquitto", G_FILE_TEST_IS_EXECUTABLE)
            ? "/usr/sbin/mosquitto"
            : "mosquitto";
  gchar *argv[] = { (gchar *)exe, (gchar *)"-c", b->conf, NULL };
  GError *err = NULL;
  gint64 end = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  if (!g_spawn_async (NULL, argv, NULL,
          G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD
              | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
          broker_child_setup, GINT_TO_POINTER (getpid ()), &b->pid, &err)) {
    g_printerr ("cannot start %s: %s\n", exe, err->message);
    g_error_free (err);
    b->pid = 0;
    return FALSE;
  }
  while (g_get_monotonic_time () < end) {
    gint status;

    if (port_accepts (b->port))
      return TRUE;
    if (waitpid (b->pid, &status, WNOHANG) == b->pid) {
      g_printerr (
          "mosquitto exited at start (log: %s/mosquitto.log)\n", b->dir);
      b->pid = 0;
      return FALSE;
    }
    g_usleep (20000);
  }
  ssan_broker_stop (b);
  return FALSE;
}

gboolean
ssan_broker_start (SsanBroker *b, const gchar *extra)
{
  GString *c = g_string_new (NULL);
  gboolean ok;

  memset (b, 0, sizeof *b);
  b->dir = g_dir_make_tmp ("ssan-broker-XXXXXX", NULL);
  b->port = ssan_broker_free_port ();
  if (b->dir == NULL || b->port == 0) {
    g_string_free (c, TRUE);
    return FALSE;
  }
  b->conf = g_build_filename (b->dir, "mosquitto.conf", NULL);
  g_string_append_printf (c,
      "listener %d 127.0.0.1\n"
      "persistence true\n"
      "persistence_location %s/\n"
      "log_dest file %s/mosquitto.log\n"
      "set_tcp_nodelay true\n"
      /* offline persistent subscribers may be owed a whole test's worth */
      "max_queued_messages 0\n"
      "max_queued_bytes 0\n"
      /* mosquitto 2.0.11 restores at most max_inflight_messages of a
       * client's in-flight messages from its persistence file as in
       * flight; the others go back to its queue with their QoS 2 state
       * lost and are published again as new messages (duplicates at
       * QoS 2).  65534 is the largest limit (65535 means none, and no
       * limit puts every restored message back in the queue). */
      "max_inflight_messages 65534\n",
      b->port, b->dir, b->dir);
  if (geteuid () == 0)
    g_string_append (c, "user root\n");
  if (extra == NULL || strstr (extra, "allow_anonymous") == NULL)
    g_string_append (c, "allow_anonymous true\n");
  if (extra)
    g_string_append_printf (c, "%s\n", extra);
  ok = g_file_set_contents (b->conf, c->str, -1, NULL);
  g_string_free (c, TRUE);
  return ok && ssan_broker_restart (b);
}

void
ssan_broker_kill (SsanBroker *b)
{
  gint status;

  if (b->pid == 0)
    return;
  kill (b->pid, SIGKILL);
  waitpid (b->pid, &status, 0);
  g_spawn_close_pid (b->pid);
  b->pid = 0;
}

void
ssan_broker_stop (SsanBroker *b)
{
  gint64 end = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  gint status;

  if (b->pid == 0)
    return;
  kill (b->pid, SIGTERM);
  while (waitpid (b->pid, &status, WNOHANG) != b->pid) {
    if (g_get_monotonic_time () > end) {
      kill (b->pid, SIGKILL);
      waitpid (b->pid, &status, 0);
      break;
    }
    g_usleep (10000);
  }
  g_spawn_close_pid (b->pid);
  b->pid = 0;
}

static void
remove_tree (const gchar *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const gchar *name;

  while (d && (name = g_dir_read_name (d))) {
    gchar *p = g_build_filename (dir, name, NULL);
    g_remove (p);
    g_free (p);
  }
  if (d)
    g_dir_close (d);
  g_rmdir (dir);
}

void
ssan_broker_free (SsanBroker *b)
{
  ssan_broker_stop (b);
  if (b->dir)
    remove_tree (b->dir);
  g_free (b->dir);
  g_free (b->conf);
  memset (b, 0, sizeof *b);
}

/* --- subscriber ---------------------------------------------------------- */

struct _SsanSub {
  struct mosquitto *m;
  gchar *topic;
  gint qos;
  GMutex lock;
  GCond cond;
  GPtrArray *msgs;  /* SsanMessage * */
  GHashTable *seen; /* sync markers received */
  guint subscribed; /* SUBACKs received: one per (re)connection */
  guint n_sync;
};

static void
message_free (SsanMessage *m)
{
  g_free (m->payload);
  g_free (m->topic);
  g_free (m);
}

static void
sub_on_connect (struct mosquitto *m, void *data, int rc)
{
  SsanSub *s = data;

  if (rc == 0)
    mosquitto_subscribe (m, NULL, s->topic, s->qos);
}

static void
sub_on_subscribe (
    struct mosquitto *m, void *data, int mid, int n, const int *granted)
{
  SsanSub *s = data;

  g_mutex_lock (&s->lock);
  s->subscribed++;
  g_cond_broadcast (&s->cond);
  g_mutex_unlock (&s->lock);
}

static void
sub_on_message (
    struct mosquitto *m, void *data, const struct mosquitto_message *msg)
{
  SsanSub *s = data;
  gchar *payload = g_strndup (msg->payload, msg->payloadlen);

  g_mutex_lock (&s->lock);
  if (g_str_has_prefix (payload, SYNC_PREFIX)) {
    g_hash_table_add (s->seen, payload);
  } else {
    SsanMessage *sm = g_new (SsanMessage, 1);
    sm->payload = payload;
    sm->topic = g_strdup (msg->topic);
    sm->arrival = g_get_monotonic_time ();
    g_ptr_array_add (s->msgs, sm);
  }
  g_cond_broadcast (&s->cond);
  g_mutex_unlock (&s->lock);
}

SsanSub *
ssan_sub_new (
    gint port, const gchar *id, gboolean clean, const gchar *topic, gint qos)
{
  SsanSub *s = g_new0 (SsanSub, 1);
  gint64 end = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  g_mutex_init (&s->lock);
  g_cond_init (&s->cond);
  s->msgs = g_ptr_array_new_with_free_func ((GDestroyNotify)message_free);
  s->seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  s->topic = g_strdup (topic);
  s->qos = qos;
  s->m = mosquitto_new (id, clean, s);
  if (s->m == NULL)
    goto failed;
  mosquitto_connect_callback_set (s->m, sub_on_connect);
  mosquitto_subscribe_callback_set (s->m, sub_on_subscribe);
  mosquitto_message_callback_set (s->m, sub_on_message);
  mosquitto_reconnect_delay_set (s->m, 1, 1, false);
  if (mosquitto_connect (s->m, "127.0.0.1", port, 60) != MOSQ_ERR_SUCCESS
      || mosquitto_loop_start (s->m) != MOSQ_ERR_SUCCESS)
    goto failed;

  g_mutex_lock (&s->lock);
  while (!s->subscribed && g_cond_wait_until (&s->cond, &s->lock, end))
    ;
  g_mutex_unlock (&s->lock);
  if (s->subscribed)
    return s;

failed:
  ssan_sub_free (s);
  return NULL;
}

gboolean
ssan_sub_wait_subscribed (SsanSub *s, guint n, gint timeout_s)
{
  gint64 end = g_get_monotonic_time () + (gint64)timeout_s * G_USEC_PER_SEC;
  gboolean ok;

  g_mutex_lock (&s->lock);
  while (s->subscribed < n && g_cond_wait_until (&s->cond, &s->lock, end))
    ;
  ok = s->subscribed >= n;
  g_mutex_unlock (&s->lock);
  return ok;
}

guint
ssan_sub_wait (SsanSub *s, guint n, gint timeout_s)
{
  gint64 end = g_get_monotonic_time () + (gint64)timeout_s * G_USEC_PER_SEC;
  guint got;

  g_mutex_lock (&s->lock);
  while (s->msgs->len < n && g_cond_wait_until (&s->cond, &s->lock, end))
    ;
  got = s->msgs->len;
  g_mutex_unlock (&s->lock);
  return got;
}

gboolean
ssan_sub_sync (SsanSub *s, const gchar *topic, gint timeout_s)
{
  gint64 end = g_get_monotonic_time () + (gint64)timeout_s * G_USEC_PER_SEC;
  gchar *marker;
  gboolean ok;

  g_mutex_lock (&s->lock);
  marker = g_strdup_printf (SYNC_PREFIX "%u", s->n_sync++);
  g_mutex_unlock (&s->lock);
  mosquitto_publish (s->m, NULL, topic, (int)strlen (marker), marker, 1, false);

  g_mutex_lock (&s->lock);
  while (!g_hash_table_contains (s->seen, marker)
         && g_cond_wait_until (&s->cond, &s->lock, end))
    ;
  ok = g_hash_table_contains (s->seen, marker);
  g_mutex_unlock (&s->lock);
  g_free (marker);
  return ok;
}

GPtrArray *
ssan_sub_messages (SsanSub *s)
{
  GPtrArray *a = g_ptr_array_new ();
  guint i;

  g_mutex_lock (&s->lock);
  for (i = 0; i < s->msgs->len; i++)
    g_ptr_array_add (a, s->msgs->pdata[i]);
  g_mutex_unlock (&s->lock);
  return a;
}

void
ssan_sub_free (SsanSub *s)
{
  if (s->m) {
    mosquitto_disconnect (s->m);
    mosquitto_loop_stop (s->m, false);
    mosquitto_destroy (s->m);
  }
  g_ptr_array_unref (s->msgs);
  g_hash_table_unref (s->seen);
  g_free (s->topic);
  g_mutex_clear (&s->lock);
  g_cond_clear (&s->cond);
  g_free (s);
}
