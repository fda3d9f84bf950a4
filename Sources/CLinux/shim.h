#ifndef SERGEANT_CLINUX_SHIM_H
#define SERGEANT_CLINUX_SHIM_H
/* Linux interfaces the Glibc module does not carry. Static inline: no symbol is exported. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* dladdr */
#endif
#include <dlfcn.h>
#include <sys/prctl.h>
#include <signal.h>

/* Asks the kernel to send `signal` to this process when its parent dies. */
static inline int sergeant_set_parent_death_signal(int signal) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0UL, 0UL, 0UL);
}

/* The symbol `name` of the loaded image (executable or shared library) that holds `address`,
 * even one loaded RTLD_LOCAL; NULL when that image does not export it. */
static inline void *sergeant_symbol_beside(const void *address, const char *name) {
    Dl_info info;
    if (!dladdr(address, &info) || !info.dli_fname) return 0;
    void *image = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
    if (!image) return 0;
    void *symbol = dlsym(image, name);
    dlclose(image);
    return symbol;
}
#endif
