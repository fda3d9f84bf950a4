#include <zlib.h>
#include <bzlib.h>
#include <lzma.h>
