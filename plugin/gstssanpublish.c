/* GStreamer SSAN result publisher.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
/* clang-format off */
/**
 * SECTION:element-ssanpublish
 * @title: ssanpublish
 *
 * Publishes every new result of the ssanaction elements upstream, once, as
 * one JSON object (the schema is docs/ssan-result.schema.json, the same as
 * ssanaction's results-location writes, plus `source` and `tags`), to an
 * MQTT broker or to a JSON Lines file.  Buffers pass through untouched; the
 * element reads the #GstSsanActionMeta of each buffer and publishes a
 * result when it first sees it (a result is attached to every buffer until
 * the next one).
 *
 * #GstSsanPublish:location is `mqtt://[user[:password]@]host[:port]/topic`
 * (port 1883), `mqtts://...` (TLS, port 8883), `file:///path` or a plain
 * file name.  The topic may hold `{element}` (the name of the ssanaction
 * that made the result) and `{source}` (#GstSsanPublish:source); `+`, `#`
 * and `/` in their values become `_`.
 *
 * Delivery runs on the element's own thread and never blocks the stream:
 * results wait in a backlog of at most #GstSsanPublish:max-backlog
 * messages (beyond the 20 in flight); when it is full the oldest are
 * dropped, counted (#GstSsanPublish:dropped) and a warning is posted once
 * per outage.  A broker that cannot be reached, at start or later, gives a
 * warning and retries (0.25 s, doubling to 5 s); an INFO message says when
 * the connection is up.  With #GstSsanPublish:clean-session off (the
 * default) the broker keeps the session, so QoS 1 and 2 messages in flight
 * when it went away are resent after the reconnect, in order.  QoS 1 is at
 * least once: a message the broker had received but not yet acknowledged
 * when the connection broke arrives twice; consumers drop duplicates by
 * (`element`, `result-id`).  QoS 2 is exactly once, across a restart of
 * the broker too if it keeps its state: mosquitto 2.0.11 needs persistence
 * and `max_inflight_messages 65534` for that (README, "Exactly once at QoS
 * 2"); a broker killed without saving its state loses what it held.  A
 * broker that refuses the client (bad user name or password, not
 * authorised, client id rejected) is an error.  At EOS the element waits up to
 * #GstSsanPublish:drain-timeout for the backlog to be delivered (not while
 * the broker is away); results still undelivered when it stops are counted
 * in a warning.
 *
 * Configuration is read when the element starts (READY to PAUSED).
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 ssantestsrc num-buffers=320 ! video/x-raw,width=640,height=480 ! \
 *     ssanaction model=models/ssan-demo.safetensors ! \
 *     ssanpublish location=mqtt://127.0.0.1:1883/ssan/{element} qos=1 source=cam1 ! fakesink
 * ]| publishes each of the stream's results to the topic ssan/ssanaction0;
 * `mosquitto_sub -t 'ssan/#' -q 1 -v` shows them.
 */
/* clang-format on */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstssanpublish.h"

#include <string.h>
#include <unistd.h>

#include <mosquitto.h>

#include "gstssanactionmeta.h"
#include "gstssanjson.h"
#include "gstssanpublisher.h"

GST_DEBUG_CATEGORY_STATIC (gst_ssan_publish_debug);
#define GST_CAT_DEFAULT gst_ssan_publish_debug

#define DEFAULT_LOCATION NULL
#define DEFAULT_QOS 1
#define DEFAULT_CLIENT_ID NULL
#define DEFAULT_USERNAME NULL
#define DEFAULT_PASSWORD NULL
#define DEFAULT_CA_FILE NULL
#define DEFAULT_CERT_FILE NULL
#define DEFAULT_KEY_FILE NULL
#define DEFAULT_KEEPALIVE 60
#define DEFAULT_CLEAN_SESSION FALSE
#define DEFAULT_WILL_TOPIC NULL
#define DEFAULT_WILL_MESSAGE NULL
#define DEFAULT_SOURCE NULL
#define DEFAULT_TAGS NULL
#define DEFAULT_MAX_BACKLOG 10000
#define DEFAULT_APPEND FALSE
#define DEFAULT_DRAIN_TIMEOUT (5 * GST_SECOND)

#define DEFAULT_TOPIC "ssan/{element}"

enum {
  PROP_0,
  PROP_LOCATION,
  PROP_QOS,
  PROP_CLIENT_ID,
  PROP_USERNAME,
  PROP_PASSWORD,
  PROP_CA_FILE,
  PROP_CERT_FILE,
  PROP_KEY_FILE,
  PROP_KEEPALIVE,
  PROP_CLEAN_SESSION,
  PROP_WILL_TOPIC,
  PROP_WILL_MESSAGE,
  PROP_SOURCE,
  PROP_TAGS,
  PROP_MAX_BACKLOG,
  PROP_APPEND,
  PROP_DRAIN_TIMEOUT,
  PROP_PUBLISHED,
  PROP_DROPPED,
  PROP_BACKLOG,
  PROP_CONNECTED,
};

struct _GstSsanPublish {
  GstBaseTransform parent;

  /* properties (GST_OBJECT_LOCK) */
  gchar *location, *client_id, *username, *password;
  gchar *ca_file, *cert_file, *key_file;
  gchar *will_topic, *will_message, *source, *tags;
  gint qos, keepalive;
  gboolean clean_session, append;
  guint max_backlog;
  GstClockTime drain_timeout;

  /* set in start, used by the streaming thread; pub also read by
   * get_property (GST_OBJECT_LOCK) */
  GstSsanPublisher *pub;
  gchar *where;        /* "host:port" or the file name, for messages */
  gchar *topic;        /* template; NULL for files */
  gchar *src_name;     /* source of this run */
  JsonNode *tags_node; /* tags of this run, a JSON object */
  guint run_backlog;
  GstClockTime run_drain_timeout;

  GstSsanPublisherStats final; /* of the last run, once stopped */

  /* streaming thread: per ssanaction element name, the result id after
   * the newest one published in this run (guint64 *) */
  GHashTable *next_id;
};

static GstStaticPadTemplate gst_ssan_publish_sink_template
    = GST_STATIC_PAD_TEMPLATE (
        "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);
static GstStaticPadTemplate gst_ssan_publish_src_template
    = GST_STATIC_PAD_TEMPLATE (
        "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

#define gst_ssan_publish_parent_class parent_class
G_DEFINE_TYPE (GstSsanPublish, gst_ssan_publish, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE (
    ssanpublish, "ssanpublish", GST_RANK_NONE, GST_TYPE_SSAN_PUBLISH);

/* Splits an mqtt:// or mqtts:// location.  The topic template is what
 * follows the first '/' after the host. */
static gboolean
gst_ssan_publish_parse_mqtt (const gchar *loc, GstSsanPublisherConfig *cfg,
    gchar **user, gchar **password, gchar **host, gchar **topic, GError **error)
{
  const gchar *rest, *slash, *at, *hostport, *colon;
  gchar *authority;
  gint64 port;

  cfg->tls = g_str_has_prefix (loc, "mqtts://");
  rest = loc + (cfg->tls ? 8 : 7);
  slash = strchr (rest, '/');
  authority = slash ? g_strndup (rest, slash - rest) : g_strdup (rest);
  *topic = g_strdup (slash && slash[1] ? slash + 1 : DEFAULT_TOPIC);

  at = strrchr (authority, '@');
  hostport = at ? at + 1 : authority;
  if (at) {
    gchar *info = g_strndup (authority, at - authority);
    gchar *c = strchr (info, ':');

    if (c)
      *c = '\0';
    *user = g_uri_unescape_string (info, NULL);
    *password = c ? g_uri_unescape_string (c + 1, NULL) : NULL;
    g_free (info);
    if (*user == NULL || (c && *password == NULL))
      goto bad;
  }

  if (hostport[0] == '[') {
    const gchar *end = strchr (hostport, ']');
    if (end == NULL)
      goto bad;
    *host = g_strndup (hostport + 1, end - hostport - 1);
    colon = end[1] == ':' ? end + 1 : NULL;
    if (end[1] != '\0' && colon == NULL)
      goto bad;
  } else {
    colon = strchr (hostport, ':');
    *host
        = colon ? g_strndup (hostport, colon - hostport) : g_strdup (hostport);
  }
  if ((*host)[0] == '\0')
    goto bad;

  port = cfg->tls ? 8883 : 1883;
  if (colon) {
    gchar *end;
    port = g_ascii_strtoll (colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || port < 1 || port > 65535)
      goto bad;
  }
  cfg->port = (gint)port;
  g_free (authority);
  return TRUE;

bad:
  g_set_error (error, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS,
      "Invalid location \"%s\": expected "
      "mqtt://[user[:password]@]host[:port]/topic",
      loc);
  g_free (authority);
  return FALSE;
}

/* Replaces {element} and {source}; values lose the characters MQTT topics
 * reserve.  NULL (and @bad set to the placeholder) for an unknown one. */
static gchar *
gst_ssan_publish_expand (
    const gchar *tmpl, const gchar *element, const gchar *source, gchar **bad)
{
  GString *s = g_string_new (NULL);
  const gchar *p = tmpl;

  while (*p) {
    const gchar *value = NULL;
    gsize n = 0;

    if (g_str_has_prefix (p, "{element}")) {
      value = element;
      n = 9;
    } else if (g_str_has_prefix (p, "{source}")) {
      value = source;
      n = 8;
    } else if (*p == '{') {
      const gchar *end = strchr (p, '}');
      *bad = end ? g_strndup (p, end - p + 1) : g_strdup (p);
      return g_string_free (s, TRUE), NULL;
    }
    if (n) {
      for (; value && *value; value++)
        g_string_append_c (s,
            (*value == '+' || *value == '#' || *value == '/') ? '_' : *value);
      p += n;
    } else {
      g_string_append_c (s, *p++);
    }
  }
  return g_string_free (s, FALSE);
}

static void
gst_ssan_publish_notify (
    gpointer data, GstSsanPublisherEvent event, const gchar *detail)
{
  GstSsanPublish *self = data;

  switch (event) {
    case GST_SSAN_PUBLISHER_CONNECTED:
      /* gst-launch-1.0 prints only the debug part of an INFO */
      GST_ELEMENT_INFO (self, RESOURCE, OPEN_WRITE,
          ("Connected to MQTT broker %s.", self->where),
          ("connected to MQTT broker %s", self->where));
      break;
    case GST_SSAN_PUBLISHER_RETRYING:
      GST_ELEMENT_WARNING (self, RESOURCE, OPEN_WRITE,
          ("No connection to MQTT broker %s; retrying. Results wait in the "
           "backlog (max-backlog %u).",
              self->where, self->run_backlog),
          ("%s", detail));
      break;
    case GST_SSAN_PUBLISHER_REFUSED:
      GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
          ("MQTT broker %s refused the connection: %s", self->where, detail),
          ("check username, password and client-id"));
      break;
    case GST_SSAN_PUBLISHER_DROPPING:
      GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
          ("Backlog full (max-backlog %u): dropping the oldest results "
           "until %s takes them again.",
              self->run_backlog, self->where),
          (NULL));
      break;
    case GST_SSAN_PUBLISHER_WRITE_FAILED:
      GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
          ("Could not write to results file \"%s\".", self->where),
          ("%s", detail));
      break;
  }
}

static gboolean
gst_ssan_publish_start (GstBaseTransform *trans)
{
  GstSsanPublish *self = GST_SSAN_PUBLISH (trans);
  GstSsanPublisherConfig cfg = { 0 };
  GstSsanPublisher *pub;
  gchar *loc, *user = NULL, *password = NULL, *host = NULL, *topic = NULL;
  gchar *client_id, *path = NULL, *bad = NULL, *check;
  gchar *p_user, *p_password, *ca_file, *cert_file, *key_file;
  gchar *will_topic, *will_message, *tags_str;
  JsonNode *tags = NULL;
  GError *err = NULL;

  GST_OBJECT_LOCK (self);
  loc = g_strdup (self->location);
  client_id = self->client_id
                  ? g_strdup (self->client_id)
                  /* unique per process and element: two clients with one
                   * id would throw each other off the broker */
                  : g_strdup_printf ("gst-ssan-%s-%d-%s", g_get_host_name (),
                      (gint)getpid (), GST_OBJECT_NAME (self));
  p_user = g_strdup (self->username);
  p_password = g_strdup (self->password);
  ca_file = g_strdup (self->ca_file);
  cert_file = g_strdup (self->cert_file);
  key_file = g_strdup (self->key_file);
  will_topic = g_strdup (self->will_topic);
  will_message = g_strdup (self->will_message);
  tags_str = g_strdup (self->tags);
  cfg.qos = self->qos;
  cfg.keepalive = self->keepalive;
  cfg.clean_session = self->clean_session;
  cfg.append = self->append;
  cfg.max_backlog = self->max_backlog;
  self->run_backlog = self->max_backlog;
  self->run_drain_timeout = self->drain_timeout;
  g_free (self->src_name);
  self->src_name = g_strdup (self->source);
  GST_OBJECT_UNLOCK (self);

  if (tags_str && tags_str[0]) {
    tags = json_from_string (tags_str, &err);
    if (tags == NULL || !JSON_NODE_HOLDS_OBJECT (tags))
      goto bad_tags;
  }

  if (loc == NULL || loc[0] == '\0')
    goto no_location;

  if (g_str_has_prefix (loc, "mqtt://") || g_str_has_prefix (loc, "mqtts://")) {
    cfg.kind = GST_SSAN_PUBLISHER_MQTT;
    if (!gst_ssan_publish_parse_mqtt (
            loc, &cfg, &user, &password, &host, &topic, &err))
      goto bad_location;
    check = gst_ssan_publish_expand (topic, "e", "s", &bad);
    if (check == NULL)
      goto bad_placeholder;
    if (mosquitto_pub_topic_check (check) != MOSQ_ERR_SUCCESS) {
      g_free (check);
      goto bad_topic;
    }
    g_free (check);
    if (strstr (topic, "{source}") && self->src_name == NULL)
      goto no_source;
    cfg.username = p_user ? p_user : user;
    cfg.password = p_password ? p_password : password;
    cfg.ca_file = ca_file;
    cfg.cert_file = cert_file;
    cfg.key_file = key_file;
    cfg.tls = cfg.tls || ca_file || cert_file;
    cfg.will_topic = will_topic;
    cfg.will_message = will_message;
    cfg.client_id = client_id;
    cfg.host = host;
    g_free (self->where);
    self->where = g_strdup_printf ("%s:%d", host, cfg.port);
  } else {
    cfg.kind = GST_SSAN_PUBLISHER_FILE;
    if (g_str_has_prefix (loc, "file://")) {
      path = g_filename_from_uri (loc, NULL, &err);
      if (path == NULL)
        goto bad_location;
    } else if (strstr (loc, "://")) {
      goto bad_scheme;
    } else {
      path = g_strdup (loc);
    }
    cfg.path = path;
    g_free (self->where);
    self->where = g_strdup (path);
  }
  g_free (self->topic);
  self->topic = topic;
  topic = NULL;
  if (self->tags_node)
    json_node_unref (self->tags_node);
  self->tags_node = tags;
  tags = NULL;

  pub = gst_ssan_publisher_new (&cfg, gst_ssan_publish_notify, self, &err);
  if (pub == NULL)
    goto start_failed;
  GST_OBJECT_LOCK (self);
  self->pub = pub;
  memset (&self->final, 0, sizeof self->final);
  GST_OBJECT_UNLOCK (self);
  goto done;

  /* ERRORS */
bad_tags : {
  GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
      ("tags must be a JSON object, like {\"site\": \"door\"}."),
      ("%s", err ? err->message : "not an object"));
  goto failed;
}
no_location : {
  GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, ("No location given."),
      ("set location=mqtt://host:port/topic or a file name"));
  goto failed;
}
bad_location : {
  GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("%s", err->message), (NULL));
  goto failed;
}
bad_scheme : {
  GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
      ("Unsupported location \"%s\": use mqtt://, mqtts://, file:// or a "
       "file name.",
          loc),
      (NULL));
  goto failed;
}
bad_placeholder : {
  GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
      ("Unknown placeholder %s in topic \"%s\": use {element} or {source}.",
          bad, topic),
      (NULL));
  goto failed;
}
bad_topic : {
  GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
      ("Topic \"%s\" cannot be published to (no + or #, not empty).", topic),
      (NULL));
  goto failed;
}
no_source : {
  GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
      ("Topic \"%s\" uses {source} but the source property is not set.", topic),
      (NULL));
  goto failed;
}
start_failed : {
  if (cfg.kind == GST_SSAN_PUBLISHER_FILE)
    GST_ELEMENT_ERROR (
        self, RESOURCE, OPEN_WRITE, ("%s", err->message), (NULL));
  else
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("%s", err->message), (NULL));
  goto failed;
}
failed:
  pub = NULL;
done:
  g_clear_error (&err);
  if (tags)
    json_node_unref (tags);
  g_free (loc);
  g_free (user);
  g_free (password);
  g_free (host);
  g_free (topic);
  g_free (client_id);
  g_free (path);
  g_free (bad);
  g_free (p_user);
  g_free (p_password);
  g_free (ca_file);
  g_free (cert_file);
  g_free (key_file);
  g_free (will_topic);
  g_free (will_message);
  g_free (tags_str);
  return pub != NULL;
}

static gboolean
gst_ssan_publish_stop (GstBaseTransform *trans)
{
  GstSsanPublish *self = GST_SSAN_PUBLISH (trans);
  GstSsanPublisher *pub;
  GstSsanPublisherStats st;
  guint left;

  GST_OBJECT_LOCK (self);
  pub = self->pub;
  self->pub = NULL;
  GST_OBJECT_UNLOCK (self);
  if (pub == NULL)
    return TRUE;

  left = gst_ssan_publisher_free (pub, &st);
  GST_OBJECT_LOCK (self);
  self->final = st;
  GST_OBJECT_UNLOCK (self);
  GST_DEBUG_OBJECT (self,
      "stopped: %" G_GUINT64_FORMAT " published, %" G_GUINT64_FORMAT
      " dropped, %u undelivered",
      st.published, st.dropped, left);
  if (left > 0)
    GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
        ("%u results were not delivered to %s before the element stopped.",
            left, self->where),
        (NULL));
  g_hash_table_remove_all (self->next_id);
  return TRUE;
}

static gboolean
gst_ssan_publish_sink_event (GstBaseTransform *trans, GstEvent *event)
{
  GstSsanPublish *self = GST_SSAN_PUBLISH (trans);

  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS && self->pub) {
    if (!gst_ssan_publisher_drain (
            self->pub, (gint64)(self->run_drain_timeout / GST_USECOND)))
      GST_DEBUG_OBJECT (self, "EOS with results still undelivered");
  }
  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
}

static GstClockTime
gst_ssan_publish_stream_time (GstBaseTransform *trans, GstClockTime t)
{
  if (!GST_CLOCK_TIME_IS_VALID (t) || trans->segment.format != GST_FORMAT_TIME)
    return GST_CLOCK_TIME_NONE;
  return gst_segment_to_stream_time (&trans->segment, GST_FORMAT_TIME, t);
}

static void
gst_ssan_publish_result (GstSsanPublish *self, const GstSsanActionResult *r)
{
  GstBaseTransform *trans = GST_BASE_TRANSFORM (self);
  gchar *payload, *topic = NULL, *bad = NULL;

  payload = gst_ssan_result_to_json (r,
      gst_ssan_publish_stream_time (trans, r->window_start),
      gst_ssan_publish_stream_time (trans, r->window_end), g_get_real_time (),
      self->src_name, self->tags_node);
  /* the template was checked at start: no unknown placeholder */
  if (self->topic)
    topic = gst_ssan_publish_expand (
        self->topic, r->element, self->src_name, &bad);
  gst_ssan_publisher_push (self->pub, topic, payload);
}

/* A result rides on every buffer until the element's next one: it is new
 * when its id is past the newest published from the same element. */
static GstFlowReturn
gst_ssan_publish_transform_ip (GstBaseTransform *trans, GstBuffer *buf)
{
  GstSsanPublish *self = GST_SSAN_PUBLISH (trans);
  gpointer state = NULL;
  GstMeta *meta;

  while ((meta = gst_buffer_iterate_meta_filtered (
              buf, &state, GST_SSAN_ACTION_META_API_TYPE))) {
    GstSsanActionResult *r = ((GstSsanActionMeta *)meta)->result;
    guint64 *next;

    if (r == NULL)
      continue;
    next = g_hash_table_lookup (self->next_id, r->element);
    if (next && r->result_id < *next)
      continue;
    if (next == NULL) {
      next = g_new (guint64, 1);
      g_hash_table_insert (self->next_id, g_strdup (r->element), next);
    }
    *next = r->result_id + 1;
    gst_ssan_publish_result (self, r);
  }
  return GST_FLOW_OK;
}

static void
gst_ssan_publish_set_property (
    GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GstSsanPublish *self = GST_SSAN_PUBLISH (object);
  gchar **str = NULL;

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_LOCATION:
      str = &self->location;
      break;
    case PROP_CLIENT_ID:
      str = &self->client_id;
      break;
    case PROP_USERNAME:
      str = &self->username;
      break;
    case PROP_PASSWORD:
      str = &self->password;
      break;
    case PROP_CA_FILE:
      str = &self->ca_file;
      break;
    case PROP_CERT_FILE:
      str = &self->cert_file;
      break;
    case PROP_KEY_FILE:
      str = &self->key_file;
      break;
    case PROP_WILL_TOPIC:
      str = &self->will_topic;
      break;
    case PROP_WILL_MESSAGE:
      str = &self->will_message;
      break;
    case PROP_SOURCE:
      str = &self->source;
      break;
    case PROP_TAGS:
      str = &self->tags;
      break;
    case PROP_QOS:
      self->qos = g_value_get_int (value);
      break;
    case PROP_KEEPALIVE:
      self->keepalive = g_value_get_int (value);
      break;
    case PROP_CLEAN_SESSION:
      self->clean_session = g_value_get_boolean (value);
      break;
    case PROP_MAX_BACKLOG:
      self->max_backlog = g_value_get_uint (value);
      break;
    case PROP_APPEND:
      self->append = g_value_get_boolean (value);
      break;
    case PROP_DRAIN_TIMEOUT:
      self->drain_timeout = g_value_get_uint64 (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  if (str) {
    g_free (*str);
    *str = g_value_dup_string (value);
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_ssan_publish_get_property (
    GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstSsanPublish *self = GST_SSAN_PUBLISH (object);
  GstSsanPublisherStats st;

  GST_OBJECT_LOCK (self);
  st = self->final;
  if (self->pub)
    gst_ssan_publisher_get_stats (self->pub, &st);
  switch (prop_id) {
    case PROP_LOCATION:
      g_value_set_string (value, self->location);
      break;
    case PROP_CLIENT_ID:
      g_value_set_string (value, self->client_id);
      break;
    case PROP_USERNAME:
      g_value_set_string (value, self->username);
      break;
    case PROP_PASSWORD:
      g_value_set_string (value, self->password);
      break;
    case PROP_CA_FILE:
      g_value_set_string (value, self->ca_file);
      break;
    case PROP_CERT_FILE:
      g_value_set_string (value, self->cert_file);
      break;
    case PROP_KEY_FILE:
      g_value_set_string (value, self->key_file);
      break;
    case PROP_WILL_TOPIC:
      g_value_set_string (value, self->will_topic);
      break;
    case PROP_WILL_MESSAGE:
      g_value_set_string (value, self->will_message);
      break;
    case PROP_SOURCE:
      g_value_set_string (value, self->source);
      break;
    case PROP_TAGS:
      g_value_set_string (value, self->tags);
      break;
    case PROP_QOS:
      g_value_set_int (value, self->qos);
      break;
    case PROP_KEEPALIVE:
      g_value_set_int (value, self->keepalive);
      break;
    case PROP_CLEAN_SESSION:
      g_value_set_boolean (value, self->clean_session);
      break;
    case PROP_MAX_BACKLOG:
      g_value_set_uint (value, self->max_backlog);
      break;
    case PROP_APPEND:
      g_value_set_boolean (value, self->append);
      break;
    case PROP_DRAIN_TIMEOUT:
      g_value_set_uint64 (value, self->drain_timeout);
      break;
    case PROP_PUBLISHED:
      g_value_set_uint64 (value, st.published);
      break;
    case PROP_DROPPED:
      g_value_set_uint64 (value, st.dropped);
      break;
    case PROP_BACKLOG:
      g_value_set_uint (value, st.backlog);
      break;
    case PROP_CONNECTED:
      g_value_set_boolean (value, st.connected);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_ssan_publish_finalize (GObject *object)
{
  GstSsanPublish *self = GST_SSAN_PUBLISH (object);

  g_free (self->location);
  g_free (self->client_id);
  g_free (self->username);
  g_free (self->password);
  g_free (self->ca_file);
  g_free (self->cert_file);
  g_free (self->key_file);
  g_free (self->will_topic);
  g_free (self->will_message);
  g_free (self->source);
  g_free (self->tags);
  g_free (self->where);
  g_free (self->topic);
  g_free (self->src_name);
  if (self->tags_node)
    json_node_unref (self->tags_node);
  g_hash_table_unref (self->next_id);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_ssan_publish_class_init (GstSsanPublishClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;
  const GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

  GST_DEBUG_CATEGORY_INIT (
      gst_ssan_publish_debug, "ssanpublish", 0, "SSAN result publisher");

  gobject_class->set_property = gst_ssan_publish_set_property;
  gobject_class->get_property = gst_ssan_publish_get_property;
  gobject_class->finalize = gst_ssan_publish_finalize;

  g_object_class_install_property (gobject_class, PROP_LOCATION,
      g_param_spec_string ("location", "Location",
          "Where results go: mqtt://[user[:password]@]host[:port]/topic "
          "(port 1883; the topic may hold {element} and {source}; default "
          "topic " DEFAULT_TOPIC "), mqtts://... (TLS, port 8883), "
          "file:///path or a file name (JSON Lines)",
          DEFAULT_LOCATION, rw));
  g_object_class_install_property (gobject_class, PROP_QOS,
      g_param_spec_int ("qos", "QoS",
          "MQTT quality of service: 0 at most once, 1 at least once, 2 "
          "exactly once",
          0, 2, DEFAULT_QOS, rw));
  g_object_class_install_property (gobject_class, PROP_CLIENT_ID,
      g_param_spec_string ("client-id", "Client id",
          "MQTT client id (NULL: gst-ssan-<host>-<pid>-<element name>); set "
          "a stable one to resume the broker's session after the "
          "application restarts",
          DEFAULT_CLIENT_ID, rw));
  g_object_class_install_property (gobject_class, PROP_USERNAME,
      g_param_spec_string ("username", "User name",
          "MQTT user name (overrides the location's)", DEFAULT_USERNAME, rw));
  g_object_class_install_property (gobject_class, PROP_PASSWORD,
      g_param_spec_string ("password", "Password",
          "MQTT password (overrides the location's)", DEFAULT_PASSWORD, rw));
  g_object_class_install_property (gobject_class, PROP_CA_FILE,
      g_param_spec_string ("ca-file", "CA file",
          "PEM file of the CAs that signed the broker's certificate; turns "
          "TLS on (mqtts:// without it: the system's CAs)",
          DEFAULT_CA_FILE, rw));
  g_object_class_install_property (gobject_class, PROP_CERT_FILE,
      g_param_spec_string ("cert-file", "Certificate file",
          "PEM client certificate for TLS (with key-file)", DEFAULT_CERT_FILE,
          rw));
  g_object_class_install_property (gobject_class, PROP_KEY_FILE,
      g_param_spec_string ("key-file", "Key file",
          "PEM private key of cert-file (unencrypted)", DEFAULT_KEY_FILE, rw));
  g_object_class_install_property (gobject_class, PROP_KEEPALIVE,
      g_param_spec_int ("keepalive", "Keepalive",
          "Seconds between MQTT pings when idle; the broker drops the "
          "client (and sends its last will) after 1.5 times this",
          5, 65535, DEFAULT_KEEPALIVE, rw));
  g_object_class_install_property (gobject_class, PROP_CLEAN_SESSION,
      g_param_spec_boolean ("clean-session", "Clean session",
          "Start a fresh MQTT session at every connection (FALSE: the broker "
          "keeps the session, and QoS 1/2 messages are resent after a "
          "reconnect)",
          DEFAULT_CLEAN_SESSION, rw));
  g_object_class_install_property (gobject_class, PROP_WILL_TOPIC,
      g_param_spec_string ("will-topic", "Will topic",
          "Topic of the last will the broker publishes when the connection "
          "is lost without a clean disconnect (NULL: no last will)",
          DEFAULT_WILL_TOPIC, rw));
  g_object_class_install_property (gobject_class, PROP_WILL_MESSAGE,
      g_param_spec_string ("will-message", "Will message",
          "Payload of the last will (NULL: empty)", DEFAULT_WILL_MESSAGE, rw));
  g_object_class_install_property (gobject_class, PROP_SOURCE,
      g_param_spec_string ("source", "Source",
          "Written as the \"source\" field of every result (a camera's URI "
          "or name) and usable as {source} in the topic",
          DEFAULT_SOURCE, rw));
  g_object_class_install_property (gobject_class, PROP_TAGS,
      g_param_spec_string ("tags", "Tags",
          "A JSON object written as the \"tags\" field of every result, "
          "e.g. {\"site\": \"door\"}",
          DEFAULT_TAGS, rw));
  g_object_class_install_property (gobject_class, PROP_MAX_BACKLOG,
      g_param_spec_uint ("max-backlog", "Maximum backlog",
          "Results kept while they cannot be delivered (beyond the 20 in "
          "flight); when full the oldest are dropped and counted",
          1, G_MAXINT, DEFAULT_MAX_BACKLOG, rw));
  g_object_class_install_property (gobject_class, PROP_APPEND,
      g_param_spec_boolean ("append", "Append",
          "For files: append to an existing file instead of truncating it",
          DEFAULT_APPEND, rw));
  g_object_class_install_property (gobject_class, PROP_DRAIN_TIMEOUT,
      g_param_spec_uint64 ("drain-timeout", "Drain timeout",
          "At EOS, wait at most this long (ns) for the backlog to be "
          "delivered (not while the broker is away)",
          0, G_MAXUINT64, DEFAULT_DRAIN_TIMEOUT, rw));
  g_object_class_install_property (gobject_class, PROP_PUBLISHED,
      g_param_spec_uint64 ("published", "Published",
          "Results delivered (acknowledged by the broker for QoS 1 and 2, "
          "sent for QoS 0, written for files) since the element started",
          0, G_MAXUINT64, 0, ro));
  g_object_class_install_property (gobject_class, PROP_DROPPED,
      g_param_spec_uint64 ("dropped", "Dropped",
          "Results dropped from a full backlog since the element started", 0,
          G_MAXUINT64, 0, ro));
  g_object_class_install_property (gobject_class, PROP_BACKLOG,
      g_param_spec_uint ("backlog", "Backlog", "Results waiting or in flight",
          0, G_MAXUINT, 0, ro));
  g_object_class_install_property (gobject_class, PROP_CONNECTED,
      g_param_spec_boolean ("connected", "Connected",
          "Whether the MQTT connection is up", FALSE, ro));

  gst_element_class_set_static_metadata (element_class, "SSAN result publisher",
      "Sink/Network",
      "Publishes every new ssanaction result once, as JSON, to an MQTT "
      "broker or a JSON Lines file",
      "gst-ssan");
  gst_element_class_add_static_pad_template (
      element_class, &gst_ssan_publish_sink_template);
  gst_element_class_add_static_pad_template (
      element_class, &gst_ssan_publish_src_template);

  trans_class->start = GST_DEBUG_FUNCPTR (gst_ssan_publish_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_ssan_publish_stop);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_ssan_publish_sink_event);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR (gst_ssan_publish_transform_ip);
  trans_class->transform_ip_on_passthrough = TRUE;
}

static void
gst_ssan_publish_init (GstSsanPublish *self)
{
  self->location = g_strdup (DEFAULT_LOCATION);
  self->qos = DEFAULT_QOS;
  self->keepalive = DEFAULT_KEEPALIVE;
  self->clean_session = DEFAULT_CLEAN_SESSION;
  self->max_backlog = DEFAULT_MAX_BACKLOG;
  self->append = DEFAULT_APPEND;
  self->drain_timeout = DEFAULT_DRAIN_TIMEOUT;
  self->next_id
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), TRUE);
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);
}
