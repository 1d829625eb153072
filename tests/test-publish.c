/* ssanpublish tests, with a real broker: Debian's mosquitto on 127.0.0.1
 * on a free port (tools/ssan-broker.c), subscribed to through libmosquitto.
 *
 * Results are made here and attached to buffers pushed through a GstHarness
 * (the element's input is buffers carrying GstSsanActionMeta), except in
 * test_four_pipelines, which runs ssantestsrc ! ssanaction ! ssanpublish.
 * Every wait is for a condition, bounded by a generous timeout; "everything
 * has arrived" is known by a marker the subscriber publishes after the
 * element has delivered (ssan_sub_sync), never by a pause.
 */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/base/gstbasetransform.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <mosquitto.h>
#include <string.h>

#include "gstssanactionmeta.h"
#include "ssan-broker.h"

#define TIMEOUT 120 /* s, for anything to arrive */
#define SCHEMA SSAN_SOURCE_DIR "/docs/ssan-result.schema.json"
#define MODEL SSAN_SOURCE_DIR "/models/ssan-demo.safetensors"

static GstSsanActionResult *
make_result (guint64 id, const gchar *element)
{
  static const gint ids[] = { 3, 1 };
  static const gchar *const labels[] = { "moving down", "moving right" };
  static const gdouble scores[] = { 0.75, 0.25 };

  return gst_ssan_action_result_new_full (3, 0.75, 2, ids, labels, scores,
      id * GST_MSECOND, id * GST_MSECOND + 10 * GST_MSECOND, id, 1000, id,
      element, "test.safetensors");
}

/* A buffer carrying the given results (one meta each). */
static GstBuffer *
make_buffer (guint64 pts, GstSsanActionResult **results, guint n)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, 16, NULL);
  guint i;

  GST_BUFFER_PTS (buf) = pts;
  for (i = 0; i < n; i++)
    gst_buffer_add_ssan_action_meta (buf, results[i]);
  return buf;
}

static GstHarness *
publish_harness (const gchar *props)
{
  GstElement *e = gst_parse_launch (props, NULL);
  GstHarness *h;
  GstBus *bus = gst_bus_new ();

  fail_unless (e != NULL && GST_IS_BASE_TRANSFORM (e), "%s", props);
  /* before it starts: the first connection's messages go there */
  gst_element_set_bus (e, bus);
  gst_object_unref (bus);
  h = gst_harness_new_with_element (e, "sink", "src");
  gst_object_unref (e);
  gst_harness_set_src_caps_str (h, "application/x-ssan-test");
  return h;
}

/* Pushes @n buffers, each with the next result of @element (ids from
 * @first), and drops what comes out. */
static void
push_results (GstHarness *h, const gchar *element, guint64 first, guint n)
{
  guint64 i;

  for (i = first; i < first + n; i++) {
    GstSsanActionResult *r = make_result (i, element);
    fail_unless_equals_int (
        gst_harness_push (h, make_buffer (i, &r, 1)), GST_FLOW_OK);
    gst_ssan_action_result_unref (r);
    gst_buffer_unref (gst_harness_pull (h));
  }
}

/* Waits for a bus message of @type whose text contains @text. */
static gchar *
wait_bus (GstElement *e, GstMessageType type, const gchar *text)
{
  GstBus *bus = gst_element_get_bus (e);
  gint64 end = g_get_monotonic_time () + TIMEOUT * G_USEC_PER_SEC;
  gchar *found = NULL;

  while (found == NULL && g_get_monotonic_time () < end) {
    GstMessage *m = gst_bus_timed_pop_filtered (bus, 100 * GST_MSECOND, type);
    GError *err = NULL;

    if (m == NULL)
      continue;
    if (type == GST_MESSAGE_ERROR)
      gst_message_parse_error (m, &err, NULL);
    else if (type == GST_MESSAGE_WARNING)
      gst_message_parse_warning (m, &err, NULL);
    else
      gst_message_parse_info (m, &err, NULL);
    if (strstr (err->message, text))
      found = g_strdup (err->message);
    g_error_free (err);
    gst_message_unref (m);
  }
  gst_object_unref (bus);
  return found;
}

static guint64
prop_u64 (GstElement *e, const gchar *name)
{
  guint64 v;
  g_object_get (e, name, &v, NULL);
  return v;
}

static JsonObject *
parse_object (const gchar *payload, JsonNode **node)
{
  *node = json_from_string (payload, NULL);
  fail_unless (
      *node && JSON_NODE_HOLDS_OBJECT (*node), "not JSON: %s", payload);
  return json_node_get_object (*node);
}

/* The result ids of @element among @msgs, in arrival order. */
static GArray *
ids_of (GPtrArray *msgs, const gchar *element)
{
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (guint64));
  guint i;

  for (i = 0; i < msgs->len; i++) {
    SsanMessage *m = g_ptr_array_index (msgs, i);
    JsonNode *node;
    JsonObject *o = parse_object (m->payload, &node);

    if (g_strcmp0 (json_object_get_string_member (o, "element"), element)
        == 0) {
      guint64 id = json_object_get_int_member (o, "result-id");
      g_array_append_val (ids, id);
    }
    json_node_unref (node);
  }
  return ids;
}

/* ids are exactly from .. from + n - 1, in order, each once. */
static void
check_exactly_once (GArray *ids, guint64 from, guint n)
{
  guint i;

  fail_unless_equals_int (ids->len, n);
  for (i = 0; i < n; i++)
    fail_unless_equals_uint64 (g_array_index (ids, guint64, i), from + i);
}

/* At least once: every id of from .. from + n - 1 arrived, from
 * arrivals in order (a QoS 1 resend may repeat one). */
static guint
check_at_least_once (GArray *ids, guint64 from, guint n)
{
  gboolean *seen = g_new0 (gboolean, n);
  guint64 next = from;
  guint i, dups = 0;

  for (i = 0; i < ids->len; i++) {
    guint64 id = g_array_index (ids, guint64, i);
    fail_unless (
        id >= from && id < from + n, "unexpected id %" G_GUINT64_FORMAT, id);
    if (seen[id - from]) {
      dups++;
      continue;
    }
    fail_unless_equals_uint64 (id, next);
    seen[id - from] = TRUE;
    next++;
  }
  fail_unless_equals_uint64 (next, from + n);
  g_free (seen);
  return dups;
}

/* --- a JSON Schema subset: type, required, properties,
 * additionalProperties, items, minimum, maximum, format date-time ------- */

static gboolean
schema_type_ok (JsonNode *v, const gchar *type)
{
  if (g_str_equal (type, "null"))
    return JSON_NODE_HOLDS_NULL (v);
  if (g_str_equal (type, "object"))
    return JSON_NODE_HOLDS_OBJECT (v);
  if (g_str_equal (type, "array"))
    return JSON_NODE_HOLDS_ARRAY (v);
  if (!JSON_NODE_HOLDS_VALUE (v))
    return FALSE;
  if (g_str_equal (type, "string"))
    return json_node_get_value_type (v) == G_TYPE_STRING;
  if (g_str_equal (type, "integer"))
    return json_node_get_value_type (v) == G_TYPE_INT64;
  if (g_str_equal (type, "number"))
    return json_node_get_value_type (v) == G_TYPE_INT64
           || json_node_get_value_type (v) == G_TYPE_DOUBLE;
  return FALSE;
}

static void
schema_check (JsonObject *schema, JsonNode *v, const gchar *where)
{
  if (json_object_has_member (schema, "type")) {
    JsonNode *t = json_object_get_member (schema, "type");
    gboolean ok = FALSE;

    if (JSON_NODE_HOLDS_ARRAY (t)) {
      JsonArray *a = json_node_get_array (t);
      guint i;
      for (i = 0; i < json_array_get_length (a); i++)
        ok |= schema_type_ok (v, json_array_get_string_element (a, i));
    } else {
      ok = schema_type_ok (v, json_node_get_string (t));
    }
    fail_unless (ok, "%s: wrong type", where);
  }
  if (JSON_NODE_HOLDS_VALUE (v)
      && json_node_get_value_type (v) != G_TYPE_STRING) {
    gdouble x = json_node_get_double (v);
    if (json_object_has_member (schema, "minimum"))
      fail_unless (x >= json_object_get_double_member (schema, "minimum"),
          "%s: %g below minimum", where, x);
    if (json_object_has_member (schema, "maximum"))
      fail_unless (x <= json_object_get_double_member (schema, "maximum"),
          "%s: %g above maximum", where, x);
  }
  if (json_object_has_member (schema, "format")) {
    GDateTime *dt
        = g_date_time_new_from_iso8601 (json_node_get_string (v), NULL);
    fail_unless (dt != NULL, "%s: not a date-time", where);
    fail_unless_equals_int (g_date_time_get_utc_offset (dt), 0);
    g_date_time_unref (dt);
  }
  if (JSON_NODE_HOLDS_ARRAY (v) && json_object_has_member (schema, "items")) {
    JsonArray *a = json_node_get_array (v);
    guint i;
    for (i = 0; i < json_array_get_length (a); i++)
      schema_check (json_object_get_object_member (schema, "items"),
          json_array_get_element (a, i), where);
  }
  if (JSON_NODE_HOLDS_OBJECT (v)) {
    JsonObject *o = json_node_get_object (v);
    JsonObject *props
        = json_object_has_member (schema, "properties")
              ? json_object_get_object_member (schema, "properties")
              : NULL;
    GList *members = json_object_get_members (o), *l;

    if (json_object_has_member (schema, "required")) {
      JsonArray *req = json_object_get_array_member (schema, "required");
      guint i;
      for (i = 0; i < json_array_get_length (req); i++)
        fail_unless (
            json_object_has_member (o, json_array_get_string_element (req, i)),
            "%s: missing %s", where, json_array_get_string_element (req, i));
    }
    for (l = members; l; l = l->next) {
      gchar *w = g_strdup_printf ("%s.%s", where, (gchar *)l->data);
      if (props && json_object_has_member (props, l->data))
        schema_check (json_object_get_object_member (props, l->data),
            json_object_get_member (o, l->data), w);
      else if (json_object_has_member (schema, "additionalProperties"))
        fail_if (
            !json_object_get_boolean_member (schema, "additionalProperties"),
            "%s: not in the schema", w);
      g_free (w);
    }
    g_list_free (members);
  }
}

static void
check_schema (const gchar *payload)
{
  static JsonParser *parser = NULL;
  JsonNode *node;

  if (parser == NULL) {
    GError *err = NULL;
    parser = json_parser_new ();
    fail_unless (json_parser_load_from_file (parser, SCHEMA, &err), "%s",
        err ? err->message : "");
  }
  node = json_from_string (payload, NULL);
  fail_unless (node != NULL, "not JSON: %s", payload);
  schema_check (
      json_node_get_object (json_parser_get_root (parser)), node, "result");
  json_node_unref (node);
}

/* --- tests --------------------------------------------------------------- */

/* 10,000 results at QoS 1 arrive exactly once and in order, each valid
 * against the schema; a buffer carrying an already published result (the
 * meta rides on every frame until the next result) publishes nothing. */
GST_START_TEST (test_qos1_10000)
{
  SsanBroker b;
  SsanSub *sub;
  GstHarness *h;
  GPtrArray *msgs;
  GArray *ids;
  gchar *props;
  guint i;

  fail_unless (ssan_broker_start (&b, NULL));
  sub = ssan_sub_new (b.port, "test-sub", TRUE, "ssan/#", 1);
  fail_unless (sub != NULL);

  props = g_strdup_printf (
      "ssanpublish location=mqtt://127.0.0.1:%d/ssan/{element} "
      "qos=1 source=cam tags={\"site\":\"door\"}",
      b.port);
  h = publish_harness (props);
  push_results (h, "a", 0, 5000);
  /* the same result again: no message */
  for (i = 0; i < 3; i++) {
    GstSsanActionResult *r = make_result (4999, "a");
    gst_harness_push (h, make_buffer (5000 + i, &r, 1));
    gst_ssan_action_result_unref (r);
    gst_buffer_unref (gst_harness_pull (h));
  }
  push_results (h, "a", 5000, 5000);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));

  fail_unless_equals_int (ssan_sub_wait (sub, 10000, TIMEOUT), 10000);
  fail_unless (ssan_sub_sync (sub, "ssan/sync", TIMEOUT));
  msgs = ssan_sub_messages (sub);
  ids = ids_of (msgs, "a");
  check_exactly_once (ids, 0, 10000);
  for (i = 0; i < msgs->len; i += 997) {
    SsanMessage *m = g_ptr_array_index (msgs, i);
    fail_unless_equals_string (m->topic, "ssan/a");
    check_schema (m->payload);
    fail_unless (strstr (m->payload, "\"source\":\"cam\""));
    fail_unless (strstr (m->payload, "\"tags\":{\"site\":\"door\"}"));
  }
  /* EOS waited for the broker's acknowledgements */
  fail_unless_equals_uint64 (prop_u64 (h->element, "published"), 10000);
  fail_unless_equals_uint64 (prop_u64 (h->element, "dropped"), 0);

  g_array_unref (ids);
  g_ptr_array_unref (msgs);
  gst_harness_teardown (h);
  g_free (props);
  ssan_sub_free (sub);
  ssan_broker_free (&b);
}
GST_END_TEST;

/* Two ssanaction elements' metas on one buffer: both results, each once. */
GST_START_TEST (test_two_elements_one_buffer)
{
  SsanBroker b;
  SsanSub *sub;
  GstHarness *h;
  GPtrArray *msgs;
  GArray *ids;
  gchar *props;
  guint64 i;

  fail_unless (ssan_broker_start (&b, NULL));
  sub = ssan_sub_new (b.port, "test-sub", TRUE, "ssan/#", 1);
  fail_unless (sub != NULL);
  props = g_strdup_printf (
      "ssanpublish location=mqtt://127.0.0.1:%d/ssan/{element} qos=2", b.port);
  h = publish_harness (props);
  for (i = 0; i < 40; i++) {
    /* "b" makes a result every other buffer */
    GstSsanActionResult *r[2]
        = { make_result (i, "a"), make_result (i / 2, "b") };
    gst_harness_push (h, make_buffer (i, r, 2));
    gst_ssan_action_result_unref (r[0]);
    gst_ssan_action_result_unref (r[1]);
    gst_buffer_unref (gst_harness_pull (h));
  }
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  fail_unless_equals_int (ssan_sub_wait (sub, 60, TIMEOUT), 60);
  fail_unless (ssan_sub_sync (sub, "ssan/sync", TIMEOUT));
  msgs = ssan_sub_messages (sub);
  ids = ids_of (msgs, "a");
  check_exactly_once (ids, 0, 40);
  g_array_unref (ids);
  ids = ids_of (msgs, "b");
  check_exactly_once (ids, 0, 20);
  g_array_unref (ids);
  g_ptr_array_unref (msgs);
  gst_harness_teardown (h);
  g_free (props);
  ssan_sub_free (sub);
  ssan_broker_free (&b);
}
GST_END_TEST;

/* Four real pipelines (ssantestsrc ! ssanaction ! ssanpublish) publishing
 * to one broker at once: each element's results, exactly once, in order. */
GST_START_TEST (test_four_pipelines)
{
  const guint frames = 96, windows = (frames - 32) / 4 + 1;
  GstElement *p[4];
  SsanBroker b;
  SsanSub *sub;
  GPtrArray *msgs;
  gint i;

  fail_unless (ssan_broker_start (&b, NULL));
  sub = ssan_sub_new (b.port, "test-sub", TRUE, "ssan/#", 1);
  fail_unless (sub != NULL);
  for (i = 0; i < 4; i++) {
    gchar *desc = g_strdup_printf (
        "ssantestsrc seed=%d num-buffers=%u ! video/x-raw,width=64,height=48 ! "
        "ssanaction name=act%d model=" MODEL " threads=1 ! "
        "ssanpublish location=mqtt://127.0.0.1:%d/ssan/{source}/{element} "
        "source=cam%d ! fakesink",
        i, frames, i, b.port, i);
    p[i] = gst_parse_launch (desc, NULL);
    fail_unless (p[i] != NULL);
    g_free (desc);
  }
  for (i = 0; i < 4; i++)
    fail_if (gst_element_set_state (p[i], GST_STATE_PLAYING)
             == GST_STATE_CHANGE_FAILURE);
  for (i = 0; i < 4; i++) {
    GstBus *bus = gst_element_get_bus (p[i]);
    GstMessage *m = gst_bus_timed_pop_filtered (
        bus, TIMEOUT * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
    fail_unless (m && GST_MESSAGE_TYPE (m) == GST_MESSAGE_EOS);
    gst_message_unref (m);
    gst_object_unref (bus);
  }
  fail_unless_equals_int (
      ssan_sub_wait (sub, 4 * windows, TIMEOUT), 4 * windows);
  fail_unless (ssan_sub_sync (sub, "ssan/sync", TIMEOUT));
  msgs = ssan_sub_messages (sub);
  for (i = 0; i < 4; i++) {
    gchar *name = g_strdup_printf ("act%d", i), *topic;
    GArray *ids = ids_of (msgs, name);
    guint j, n_topic = 0;

    check_exactly_once (ids, 0, windows);
    topic = g_strdup_printf ("ssan/cam%d/act%d", i, i);
    for (j = 0; j < msgs->len; j++)
      n_topic += g_str_equal (((SsanMessage *)msgs->pdata[j])->topic, topic);
    fail_unless_equals_int (n_topic, windows);
    g_free (topic);
    g_array_unref (ids);
    g_free (name);
    gst_element_set_state (p[i], GST_STATE_NULL);
    gst_object_unref (p[i]);
  }
  g_ptr_array_unref (msgs);
  ssan_sub_free (sub);
  ssan_broker_free (&b);
}
GST_END_TEST;

/* The broker stopped and restarted mid-stream: pushing never waits for it
 * (the results meanwhile sit in the backlog), a warning says it is away,
 * and after the reconnect every result arrives, first arrivals in order.
 * Messages that were in flight (at most 20) may come twice: at QoS 1 by
 * design; at QoS 2 mosquitto 2.0.11 too resends some after its restart
 * (0 or 40 in runs here), so consumers drop duplicates by (element,
 * result-id) either way. */
static void
run_restart (gint qos)
{
  const guint n1 = 1500, n2 = 1500, n3 = 500;
  SsanBroker b;
  SsanSub *sub;
  GstHarness *h;
  GPtrArray *msgs;
  GArray *ids;
  gchar *props, *text;
  guint dups;
  guint backlog;

  fail_unless (ssan_broker_start (&b, NULL));
  sub = ssan_sub_new (b.port, "test-sub-persistent", FALSE, "ssan/#", qos);
  fail_unless (sub != NULL);
  props = g_strdup_printf (
      "ssanpublish location=mqtt://127.0.0.1:%d/ssan/r qos=%d", b.port, qos);
  h = publish_harness (props);
  fail_unless ((text = wait_bus (h->element, GST_MESSAGE_INFO, "Connected")));
  g_free (text);

  push_results (h, "a", 0, n1);
  /* mid-stream: part of it delivered, part not */
  fail_unless (ssan_sub_wait (sub, n1 / 3, TIMEOUT) >= n1 / 3);
  ssan_broker_stop (&b);
  fail_unless ((text = wait_bus (h->element, GST_MESSAGE_WARNING,
                    "No connection to MQTT broker")));
  g_free (text);
  push_results (h, "a", n1, n2);
  g_object_get (h->element, "backlog", &backlog, NULL);
  fail_unless (backlog >= n2, "backlog %u", backlog);

  fail_unless (ssan_broker_restart (&b));
  push_results (h, "a", n1 + n2, n3);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  fail_unless (ssan_sub_wait (sub, n1 + n2 + n3, TIMEOUT) >= n1 + n2 + n3);
  fail_unless (ssan_sub_sync (sub, "ssan/sync", TIMEOUT));

  msgs = ssan_sub_messages (sub);
  ids = ids_of (msgs, "a");
  dups = check_at_least_once (ids, 0, n1 + n2 + n3);
  GST_INFO ("QoS %d: %u duplicates", qos, dups);
  fail_unless_equals_uint64 (prop_u64 (h->element, "dropped"), 0);

  g_array_unref (ids);
  g_ptr_array_unref (msgs);
  gst_harness_teardown (h);
  g_free (props);
  ssan_sub_free (sub);
  ssan_broker_free (&b);
}

GST_START_TEST (test_broker_restart_qos1)
{
  run_restart (1);
}
GST_END_TEST;

GST_START_TEST (test_broker_restart_qos2)
{
  run_restart (2);
}
GST_END_TEST;

/* No broker at start: a warning, retries, results kept; once the broker
 * is there, they are delivered (to a subscriber whose persistent session
 * the broker kept).  A full backlog drops the oldest, counted, warned. */
GST_START_TEST (test_broker_down_at_start)
{
  SsanBroker b;
  SsanSub *sub;
  GstHarness *h;
  GPtrArray *msgs;
  GArray *ids;
  gchar *props, *text;
  guint backlog;

  /* make the subscriber's session, then take the broker away */
  fail_unless (ssan_broker_start (&b, NULL));
  sub = ssan_sub_new (b.port, "test-sub-down", FALSE, "ssan/#", 1);
  fail_unless (sub != NULL);
  ssan_sub_free (sub);
  ssan_broker_stop (&b);

  props = g_strdup_printf ("ssanpublish location=mqtt://127.0.0.1:%d/ssan/d "
                           "max-backlog=300",
      b.port);
  h = publish_harness (props);
  fail_unless ((text = wait_bus (h->element, GST_MESSAGE_WARNING,
                    "No connection to MQTT broker 127.0.0.1:")));
  g_free (text);
  push_results (h, "a", 0, 1000);
  fail_unless ((text = wait_bus (h->element, GST_MESSAGE_WARNING,
                    "Backlog full (max-backlog 300)")));
  g_free (text);
  g_object_get (h->element, "backlog", &backlog, NULL);
  fail_unless_equals_int (backlog, 300);
  fail_unless_equals_uint64 (prop_u64 (h->element, "dropped"), 700);

  fail_unless (ssan_broker_restart (&b));
  fail_unless ((text = wait_bus (h->element, GST_MESSAGE_INFO, "Connected")));
  g_free (text);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  sub = ssan_sub_new (b.port, "test-sub-down", FALSE, "ssan/#", 1);
  fail_unless (sub != NULL);
  fail_unless_equals_int (ssan_sub_wait (sub, 300, TIMEOUT), 300);
  fail_unless (ssan_sub_sync (sub, "ssan/sync", TIMEOUT));
  msgs = ssan_sub_messages (sub);
  ids = ids_of (msgs, "a");
  check_exactly_once (ids, 700, 300);

  g_array_unref (ids);
  g_ptr_array_unref (msgs);
  gst_harness_teardown (h);
  g_free (props);
  ssan_sub_free (sub);
  ssan_broker_free (&b);
}
GST_END_TEST;

/* A broker that wants a password: the right one works, a wrong one is
 * the documented error. */
GST_START_TEST (test_credentials)
{
  SsanBroker b;
  GstHarness *h;
  gchar *dir = g_dir_make_tmp ("ssan-pw-XXXXXX", NULL);
  gchar *pwfile = g_build_filename (dir, "passwd", NULL);
  gchar *argv[] = { (gchar *)"mosquitto_passwd", (gchar *)"-c", (gchar *)"-b",
    pwfile, (gchar *)"cam", (gchar *)"s3cret", NULL };
  gchar *extra, *props, *text;
  gint status;

  fail_unless (g_spawn_sync (NULL, argv, NULL,
      G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, NULL,
      &status, NULL));
  fail_unless (g_spawn_check_wait_status (status, NULL));
  g_chmod (pwfile, 0644);
  extra = g_strdup_printf ("allow_anonymous false\npassword_file %s", pwfile);
  fail_unless (ssan_broker_start (&b, extra));

  /* wrong password: an error naming the broker and the reason */
  props = g_strdup_printf (
      "ssanpublish location=mqtt://cam:nope@127.0.0.1:%d/ssan/c", b.port);
  h = publish_harness (props);
  fail_unless ((text = wait_bus (
                    h->element, GST_MESSAGE_ERROR, "refused the connection")));
  fail_unless (strstr (text, "127.0.0.1"));
  g_free (text);
  push_results (h, "a", 0, 10); /* never blocks */
  gst_harness_teardown (h);
  g_free (props);

  /* right password (properties override the location's) */
  props = g_strdup_printf (
      "ssanpublish location=mqtt://cam:nope@127.0.0.1:%d/ssan/c "
      "password=s3cret",
      b.port);
  h = publish_harness (props);
  fail_unless ((text = wait_bus (h->element, GST_MESSAGE_INFO, "Connected")));
  g_free (text);
  {
    /* the subscriber needs the password too */
    struct mosquitto *m = mosquitto_new ("probe", true, NULL);
    fail_unless (mosquitto_username_pw_set (m, "cam", "s3cret") == 0);
    fail_unless (mosquitto_connect (m, "127.0.0.1", b.port, 60) == 0);
    mosquitto_disconnect (m);
    mosquitto_destroy (m);
  }
  push_results (h, "a", 0, 10);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  fail_unless_equals_uint64 (prop_u64 (h->element, "published"), 10);
  gst_harness_teardown (h);

  g_free (props);
  g_free (extra);
  ssan_broker_free (&b);
  g_remove (pwfile);
  g_rmdir (dir);
  g_free (pwfile);
  g_free (dir);
}
GST_END_TEST;

/* Settings that cannot work fail the start with the documented message. */
GST_START_TEST (test_bad_settings)
{
  const struct {
    const gchar *props, *text;
  } cases[] = {
    { "", "No location given." },
    { "location=mqtt://127.0.0.1:99999/t", "Invalid location" },
    { "location=mqtt://127.0.0.1:x/t", "Invalid location" },
    { "location=mqtt:///t", "Invalid location" },
    { "location=mqtt://[::1/t", "Invalid location" },
    { "location=kafka://h/t", "Unsupported location" },
    { "location=mqtt://127.0.0.1/a/+/b", "cannot be published to" },
    { "location=mqtt://127.0.0.1/a/{camera}", "Unknown placeholder {camera}" },
    { "location=mqtt://127.0.0.1/a/{source}", "uses {source}" },
    { "location=mqtt://127.0.0.1/t tags=[1]", "tags must be a JSON object" },
    { "location=mqtt://127.0.0.1/t tags={x", "tags must be a JSON object" },
    { "location=mqtt://127.0.0.1/t ca-file=/nonexistent/ca.pem",
        "Could not read the TLS CA file \"/nonexistent/ca.pem\": No such "
        "file" },
    { "location=mqtts://127.0.0.1/t cert-file=/nonexistent/c.pem key-file=/x",
        "Could not read the TLS certificate file" },
    { "location=mqtt://127.0.0.1/t ca-file=/",
        "Could not read the TLS CA file \"/\"" },
    { "location=mqtts://127.0.0.1/t cert-file=" SCHEMA,
        "needs both cert-file and key-file" },
    { "location=mqtt://127.0.0.1/t will-topic=a/#",
        "Could not set up the MQTT client" },
    { "location=/nonexistent/dir/r.jsonl",
        "Could not open \"/nonexistent/dir/r.jsonl\"" },
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++) {
    gchar *desc = g_strdup_printf ("ssanpublish %s", cases[i].props);
    GstElement *e = gst_parse_launch (desc, NULL);
    GstBus *bus = gst_bus_new ();
    GstMessage *m;
    GError *err = NULL;

    fail_unless (e != NULL);
    gst_element_set_bus (e, bus);
    fail_unless (
        gst_element_set_state (e, GST_STATE_PAUSED) == GST_STATE_CHANGE_FAILURE,
        "%s: started", cases[i].props);
    m = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
    fail_unless (m != NULL, "%s: no error", cases[i].props);
    gst_message_parse_error (m, &err, NULL);
    fail_unless (strstr (err->message, cases[i].text), "%s: \"%s\"",
        cases[i].props, err->message);
    g_error_free (err);
    gst_message_unref (m);
    gst_element_set_state (e, GST_STATE_NULL);
    gst_object_unref (e);
    gst_object_unref (bus);
    g_free (desc);
  }
}
GST_END_TEST;

/* JSON Lines through the same element: truncated at start, or appended. */
GST_START_TEST (test_file)
{
  gchar *dir = g_dir_make_tmp ("ssan-publish-XXXXXX", NULL);
  gchar *path = g_build_filename (dir, "r.jsonl", NULL);
  gchar *props, *text, **lines;
  GstHarness *h;
  gint run, i;

  for (run = 0; run < 3; run++) {
    props = g_strdup_printf ("ssanpublish location=%s%s append=%s",
        run == 1 ? "file://" : "", path, run == 2 ? "true" : "false");
    h = publish_harness (props);
    push_results (h, "a", run * 100, 100);
    fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
    fail_unless_equals_uint64 (prop_u64 (h->element, "published"), 100);
    gst_harness_teardown (h);
    g_free (props);
  }
  fail_unless (g_file_get_contents (path, &text, NULL, NULL));
  lines = g_strsplit (text, "\n", -1);
  /* run 1 truncated run 0's, run 2 appended */
  fail_unless_equals_int (g_strv_length (lines), 201);
  fail_unless_equals_string (lines[200], "");
  for (i = 0; i < 200; i++) {
    JsonNode *node;
    JsonObject *o = parse_object (lines[i], &node);
    fail_unless_equals_uint64 (
        json_object_get_int_member (o, "result-id"), 100 + i);
    check_schema (lines[i]);
    json_node_unref (node);
  }
  g_strfreev (lines);
  g_free (text);
  g_remove (path);
  g_rmdir (dir);
  g_free (path);
  g_free (dir);
}
GST_END_TEST;

/* One schema: ssanaction's results-location and ssanpublish write the same
 * objects for the same results (but for the serialisation time). */
GST_START_TEST (test_same_json_as_results_location)
{
  gchar *dir = g_dir_make_tmp ("ssan-publish-XXXXXX", NULL);
  gchar *a = g_build_filename (dir, "action.jsonl", NULL);
  gchar *p = g_build_filename (dir, "publish.jsonl", NULL);
  gchar *desc, *ta, *tp, **la, **lp;
  GstElement *pipe;
  GstBus *bus;
  GstMessage *m;
  guint i;

  desc = g_strdup_printf (
      "ssantestsrc num-buffers=72 ! video/x-raw,width=64,height=48 ! "
      "ssanaction model=" MODEL " threads=1 results-location=%s ! "
      "ssanpublish location=%s ! fakesink",
      a, p);
  pipe = gst_parse_launch (desc, NULL);
  fail_unless (pipe != NULL);
  fail_if (gst_element_set_state (pipe, GST_STATE_PLAYING)
           == GST_STATE_CHANGE_FAILURE);
  bus = gst_element_get_bus (pipe);
  m = gst_bus_timed_pop_filtered (
      bus, TIMEOUT * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  fail_unless (m && GST_MESSAGE_TYPE (m) == GST_MESSAGE_EOS);
  gst_message_unref (m);
  gst_object_unref (bus);
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (pipe);

  fail_unless (g_file_get_contents (a, &ta, NULL, NULL));
  fail_unless (g_file_get_contents (p, &tp, NULL, NULL));
  la = g_strsplit (ta, "\n", -1);
  lp = g_strsplit (tp, "\n", -1);
  /* (72 - 32) / 4 + 1 windows, and the empty string after the last \n */
  fail_unless_equals_int (g_strv_length (la), 12);
  fail_unless_equals_int (g_strv_length (lp), 12);
  for (i = 0; i < 11; i++) {
    JsonNode *na, *np;
    JsonObject *oa = parse_object (la[i], &na), *op = parse_object (lp[i], &np);

    check_schema (la[i]);
    check_schema (lp[i]);
    json_object_remove_member (oa, "timestamp");
    json_object_remove_member (op, "timestamp");
    fail_unless (json_node_equal (na, np), "%s\n%s", la[i], lp[i]);
    json_node_unref (na);
    json_node_unref (np);
  }
  g_strfreev (la);
  g_strfreev (lp);
  g_free (ta);
  g_free (tp);
  g_remove (a);
  g_remove (p);
  g_rmdir (dir);
  g_free (a);
  g_free (p);
  g_free (dir);
  g_free (desc);
}
GST_END_TEST;

static Suite *
ssanpublish_suite (void)
{
  Suite *s = suite_create ("ssanpublish");
  TCase *tc = tcase_create ("general");

  mosquitto_lib_init ();
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_bad_settings);
  tcase_add_test (tc, test_file);
  tcase_add_test (tc, test_same_json_as_results_location);
  tcase_add_test (tc, test_qos1_10000);
  tcase_add_test (tc, test_two_elements_one_buffer);
  tcase_add_test (tc, test_four_pipelines);
  tcase_add_test (tc, test_broker_restart_qos1);
  tcase_add_test (tc, test_broker_restart_qos2);
  tcase_add_test (tc, test_broker_down_at_start);
  tcase_add_test (tc, test_credentials);
  return s;
}

GST_CHECK_MAIN (ssanpublish);
