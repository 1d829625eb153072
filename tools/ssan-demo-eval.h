/* ssan-demo --eval --list (tools/ssan-demo-eval.c). */
#ifndef SSAN_DEMO_EVAL_H
#define SSAN_DEMO_EVAL_H

#include <glib.h>

/* Scores the model on the labelled clips of list through ssanaction and
 * prints the report; twin: tools/ssan_eval_twin.py, or NULL for none.
 * Returns the process exit status. */
int ssan_demo_eval_list (const gchar *list, const gchar *root,
    const gchar *model, gint threads, const gchar *twin);

#endif /* SSAN_DEMO_EVAL_H */
