/* ssan-meta.c: being written */
