/* ssan-ops.c: being written */
