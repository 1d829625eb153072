/* libFuzzer target: whole model files through ssan_model_load_memory.
 * Any input must give a model or an error naming the file, never a crash,
 * a leak or a sanitizer report. */
#include "ssan/ssan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  ssan_error err;
  ssan_model *m;

  memset (&err, 0, sizeof (err));
  m = ssan_model_load_memory (data, size, "fuzz.safetensors", &err);
  if (m) {
    const ssan_info *info = ssan_model_get_info (m);
    if (info->num_classes < 1 || info->labels[info->num_classes - 1] == NULL)
      abort ();
    ssan_model_free (m);
  } else if (err.code == SSAN_OK
             || strncmp (err.msg, "fuzz.safetensors: ", 18) != 0
             || memchr (err.msg, '\n', sizeof (err.msg))) {
    abort ();
  }
  return 0;
}
