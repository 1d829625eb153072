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
    /* small enough to run: a forward pass over the fuzzed weights */
    if (info->input_size <= 64 && info->segments <= 4 && info->width <= 16
        && info->num_classes <= 64) {
      size_t n = (size_t)info->segments * 3 * (size_t)info->input_size
                 * (size_t)info->input_size;
      float *frames = calloc (n, sizeof (float));
      float logits[64];
      ssan_ctx *ctx = ssan_ctx_new (m, 0, 1, &err);
      if (frames && ctx) {
        for (size_t i = 0; i < n; i++)
          frames[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
        if (ssan_ctx_forward (ctx, frames, 1, logits, &err) != 0)
          abort ();
      }
      ssan_ctx_free (ctx);
      free (frames);
    }
    ssan_model_free (m);
  } else if (err.code == SSAN_OK
             || strncmp (err.msg, "fuzz.safetensors: ", 18) != 0
             || memchr (err.msg, '\n', sizeof (err.msg))) {
    abort ();
  }
  return 0;
}
