/* Writes the fuzz seed corpus (tests/data/fuzz-seeds): small valid models
 * of each block kind and dtype, a few damaged ones, and metadata tables.
 *   make-seeds DIR   (DIR/loader and DIR/meta must exist) */
#include "ssan-modelgen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
write_model (
    const char *dir, const char *name, ssan_modelgen *g, size_t truncate_to)
{
  char path[1024];
  uint8_t *p;
  size_t n;
  FILE *f;
  int ok;

  if (!g || ssan_modelgen_serialize (g, &p, &n))
    return -1;
  ssan_modelgen_free (g);
  if (truncate_to && truncate_to < n)
    n = truncate_to;
  snprintf (path, sizeof (path), "%s/loader/%s", dir, name);
  f = fopen (path, "wb");
  ok = f && fwrite (p, 1, n, f) == n;
  if (f && fclose (f) != 0)
    ok = 0;
  free (p);
  return ok ? 0 : -1;
}

static int
write_text (const char *dir, const char *name, const char *text)
{
  char path[1024];
  FILE *f;
  int ok;

  snprintf (path, sizeof (path), "%s/meta/%s", dir, name);
  f = fopen (path, "wb");
  ok = f && fputs (text, f) >= 0;
  if (f && fclose (f) != 0)
    ok = 0;
  return ok ? 0 : -1;
}

static ssan_modelgen *
tiny (int bottleneck, int width, const char *ssa, ssan_modelgen_dtype dtype)
{
  ssan_modelgen_config c;
  char err[256];
  ssan_modelgen *g;

  ssan_modelgen_config_init (&c);
  c.arch = "custom";
  c.bottleneck = bottleneck;
  c.layers[0] = c.layers[1] = c.layers[2] = c.layers[3] = 1;
  c.width = width;
  c.num_classes = 3;
  c.segments = 2;
  c.input_size = 16;
  c.ssa_blocks = ssa;
  c.dtype = dtype;
  c.seed = 99;
  g = ssan_modelgen_new (&c, err, sizeof (err));
  if (!g)
    fprintf (stderr, "make-seeds: %s\n", err);
  return g;
}

int
main (int argc, char **argv)
{
  const char *d;
  ssan_modelgen *g;
  int rc = 0;

  if (argc != 2) {
    fprintf (stderr, "usage: make-seeds DIR\n");
    return 2;
  }
  d = argv[1];
  rc |= write_model (d, "basic-f32-ssa.safetensors",
      tiny (0, 2, "layer1.0", SSAN_MODELGEN_F32), 0);
  rc |= write_model (
      d, "bottleneck-f16.safetensors", tiny (1, 1, NULL, SSAN_MODELGEN_F16), 0);
  g = tiny (0, 2, "layer2.0", SSAN_MODELGEN_BF16);
  if (g) {
    ssan_modelgen_set_meta (g, "labels", "[\"a\",\"b \\u00e9\",\"c\"]");
    ssan_modelgen_set_meta (g, "mean", "0.5,0.5,0.5");
    ssan_modelgen_set_meta (g, "std", "0.25,0.25,0.25");
    ssan_modelgen_set_meta (g, "window_frames", "8");
    ssan_modelgen_set_meta (g, "resize", "20");
  }
  rc |= write_model (d, "basic-bf16-labels.safetensors", g, 0);
  g = tiny (0, 2, "layer1.0", SSAN_MODELGEN_F32);
  if (g) {
    ssan_modelgen_set_meta (g, "shift_blocks", "layer1.0,layer3.0");
    ssan_modelgen_set_meta (g, "shift_div", "4");
    ssan_modelgen_set_meta (g, "frame_rate", "30000/1001");
    ssan_modelgen_set_meta (g, "source", "mmaction2:tsm");
  }
  rc |= write_model (d, "basic-f32-shift-ssa.safetensors", g, 0);
  rc |= write_model (
      d, "truncated.safetensors", tiny (0, 2, NULL, SSAN_MODELGEN_F32), 3000);
  g = tiny (0, 2, NULL, SSAN_MODELGEN_F32);
  if (g)
    ssan_modelgen_remove_tensor (g, "fc.bias");
  rc |= write_model (d, "missing-tensor.safetensors", g, 0);

  rc |= write_text (d, "resnet50.txt",
      "format=ssan-1\narch=resnet50\nnum_classes=174\nsegments=8\n"
      "input_size=224\nssa_blocks=layer1.0,layer2.0\n");
  rc |= write_text (d, "custom-all-keys.txt",
      "format=ssan-1\narch=custom\nblock=basic\nlayers=1,2,3,4\nwidth=16\n"
      "num_classes=3\nsegments=3\ninput_size=112\nresize=128\n"
      "mean=0.485,0.456,0.406\nstd=0.229,0.224,0.225\n"
      "ssa_blocks=layer2.1,layer4.3\nssa_reduction=4\n"
      "labels=[\"run\",\"jump\",\"sit \\u00e0\"]\nwindow_frames=16\n"
      "frame_rate=30000/1001\nshift_blocks=layer1.0,layer2.1,layer4.3\n"
      "shift_div=8\nsource=mmaction2:tsm_r50 \"k400\"\n");
  rc |= write_text (d, "tsm-resnet50.txt",
      "format=ssan-1\narch=resnet50\nnum_classes=400\nsegments=8\n"
      "input_size=224\nframe_rate=25\nshift_div=4\nshift_blocks=layer1.0,"
      "layer1.1,layer1.2,layer2.0,layer2.3,layer3.0,layer3.5,layer4.2\n");
  rc |= write_text (d, "bad-numbers.txt",
      "format=ssan-1\narch=resnet18\nnum_classes=+8\nsegments=0x8\n"
      "input_size=8.0\n");
  if (rc)
    fprintf (stderr, "make-seeds: could not write every seed\n");
  return rc ? 1 : 0;
}
