#ifndef SERGEANT_CSQLITE_SHIM_H
#define SERGEANT_CSQLITE_SHIM_H
#include <sqlite3.h>
#endif
