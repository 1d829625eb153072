/* gst-ssan engine: which kernel table runs, chosen once per process from
 * the CPU's features (CPUID) and the registers the OS saves (XGETBV), or
 * forced by SSAN_KERNELS / ssan_set_kernels. */
#include "ssan-kernels.h"
#include "../ssan-internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(SSAN_HAVE_X86_KERNELS)
#include <cpuid.h>

enum { CPU_AVX2 = 1, CPU_AVX512 = 2 };

static uint64_t
xgetbv0 (void)
{
  uint32_t lo, hi;

  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((uint64_t)hi << 32) | lo;
}

/* CPU_ flags of what this CPU and OS can run */
static int
cpu_features (void)
{
  unsigned a, b, c, d, c1;
  uint64_t xcr0;
  int f = 0;

  if (!__get_cpuid (1, &a, &b, &c1, &d))
    return 0;
  /* OSXSAVE, AVX, FMA; the OS saves xmm and ymm state */
  if (!(c1 & (1u << 27)) || !(c1 & (1u << 28)) || !(c1 & (1u << 12)))
    return 0;
  xcr0 = xgetbv0 ();
  if ((xcr0 & 0x6) != 0x6 || !__get_cpuid_count (7, 0, &a, &b, &c, &d))
    return 0;
  if (b & (1u << 5)) /* AVX2 */
    f |= CPU_AVX2;
  /* AVX-512 F, DQ, BW, VL; the OS saves opmask and zmm state */
  if ((f & CPU_AVX2) && (b & (1u << 16)) && (b & (1u << 17)) && (b & (1u << 30))
      && (b & (1u << 31)) && (xcr0 & 0xe6) == 0xe6)
    f |= CPU_AVX512;
  return f;
}
#endif

const ssan_kernels *
ssan_kernels_find (const char *name, char *why, size_t why_size)
{
#if defined(SSAN_HAVE_X86_KERNELS)
  static const struct {
    const ssan_kernels *k;
    int need;
    const char *lacks;
  } x86[] = {
    { &ssan_kernels_avx2, CPU_AVX2, "AVX2 and FMA" },
    { &ssan_kernels_avx512, CPU_AVX512,
        "AVX-512 (F, DQ, BW, VL, with the OS saving zmm registers)" },
    { &ssan_kernels_avx512_emu, CPU_AVX2, "AVX2 and FMA" },
  };
  size_t i;
#endif

  if (strcmp (name, "portable") == 0)
    return &ssan_kernels_portable;
#if defined(SSAN_HAVE_X86_KERNELS)
  for (i = 0; i < sizeof x86 / sizeof x86[0]; i++) {
    if (strcmp (name, x86[i].k->name) != 0)
      continue;
    if ((cpu_features () & x86[i].need) == x86[i].need)
      return x86[i].k;
    snprintf (
        why, why_size, "kernels '%s': this CPU lacks %s", name, x86[i].lacks);
    return NULL;
  }
#endif
  snprintf (why, why_size, "kernels '%s': not in this build (it has %s)", name,
#if defined(SSAN_HAVE_X86_KERNELS)
      "portable, avx2, avx512, avx512-emu"
#else
      "portable"
#endif
  );
  return NULL;
}

static const ssan_kernels *best;
static char env_error[200];
static _Atomic (const ssan_kernels *) forced;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void
choose (void)
{
  const char *env = getenv ("SSAN_KERNELS");
  char why[160];

  if (env != NULL && *env != '\0') {
    best = ssan_kernels_find (env, why, sizeof why);
    if (best == NULL)
      snprintf (env_error, sizeof env_error, "SSAN_KERNELS=%s: %s", env, why);
    return;
  }
  best = &ssan_kernels_portable;
#if defined(SSAN_HAVE_X86_KERNELS)
  if (cpu_features () & CPU_AVX512)
    best = &ssan_kernels_avx512;
  else if (cpu_features () & CPU_AVX2)
    best = &ssan_kernels_avx2;
#endif
}

const ssan_kernels *
ssan_kernels_default (char *why, size_t why_size)
{
  const ssan_kernels *k = atomic_load (&forced);

  if (k != NULL)
    return k;
  pthread_once (&once, choose);
  if (best == NULL)
    snprintf (why, why_size, "%s", env_error);
  return best;
}

const char *
ssan_get_kernels (ssan_error *err)
{
  char why[200];
  const ssan_kernels *k = ssan_kernels_default (why, sizeof why);

  if (k == NULL) {
    ssan_set_error (err, SSAN_ERR_ARG, "%s", why);
    return NULL;
  }
  return k->name;
}

int
ssan_set_kernels (const char *name, ssan_error *err)
{
  const ssan_kernels *k = NULL;
  char why[160];

  if (name != NULL && (k = ssan_kernels_find (name, why, sizeof why)) == NULL) {
    ssan_set_error (err, SSAN_ERR_ARG, "%s", why);
    return SSAN_ERR_ARG;
  }
  atomic_store (&forced, k);
  return 0;
}
