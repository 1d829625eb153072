/* libFuzzer target: the spec §3 metadata table on its own.  The input is
 * read as "key=value" lines (values may hold anything but a newline), put
 * into a parsed file's __metadata__ and handed to ssan_info_parse, so the
 * fuzzer explores the number, list and labels syntax without having to
 * produce a valid container around it. */
#include "ssan-internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KEYS 32

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *keys[MAX_KEYS], *values[MAX_KEYS];
  ssan_st st;
  ssan_info info;
  ssan_error err;
  size_t pos = 0;

  memset (&st, 0, sizeof (st));
  st.fname = "fuzz.safetensors";
  st.meta_keys = keys;
  st.meta_values = values;
  while (pos < size && st.n_meta < MAX_KEYS) {
    const uint8_t *nl = memchr (data + pos, '\n', size - pos);
    size_t end = nl ? (size_t)(nl - data) : size;
    const uint8_t *eq = memchr (data + pos, '=', end - pos);
    if (eq && !memchr (data + pos, '\0', end - pos)) {
      keys[st.n_meta]
          = strndup ((const char *)data + pos, (size_t)(eq - data) - pos);
      values[st.n_meta]
          = strndup ((const char *)eq + 1, end - (size_t)(eq - data) - 1);
      st.n_meta++;
    }
    pos = end + 1;
  }

  memset (&err, 0, sizeof (err));
  if (ssan_info_parse (&info, &st, &err) == 0) {
    if (info.num_classes < 1 || !info.labels[info.num_classes - 1]
        || info.resize < info.input_size || info.window_frames < info.segments)
      abort ();
    ssan_info_clear (&info);
  } else if (err.code == SSAN_OK) {
    abort ();
  }
  for (size_t i = 0; i < st.n_meta; i++) {
    free (keys[i]);
    free (values[i]);
  }
  return 0;
}
