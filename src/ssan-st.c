/* ssan-st.c: being written */
