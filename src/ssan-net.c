/* ssan-net.c: being written */
