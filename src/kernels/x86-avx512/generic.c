/* The portable kernels compiled with this library's flags */
#include "../portable/generic.c"
