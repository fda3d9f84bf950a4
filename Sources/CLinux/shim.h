#ifndef SERGEANT_CLINUX_SHIM_H
#define SERGEANT_CLINUX_SHIM_H
/* Linux interfaces the Glibc module does not carry. Static inline: no symbol is exported. */
#include <sys/prctl.h>
#include <signal.h>

/* Asks the kernel to send `signal` to this process when its parent dies. */
static inline int sergeant_set_parent_death_signal(int signal) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0UL, 0UL, 0UL);
}
#endif
