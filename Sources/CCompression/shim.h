#ifndef SERGEANT_CCOMPRESSION_SHIM_H
#define SERGEANT_CCOMPRESSION_SHIM_H

#include <zlib.h>
#include <bzlib.h>
#include <lzma.h>

#endif
