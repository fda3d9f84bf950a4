#ifndef SERGEANT_CHIREDIS_SHIM_H
#define SERGEANT_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#endif
