/* The plugin ABI is a header only: this file exists because SwiftPM needs one source per
 * C target. It defines no symbol, so nothing here can interpose between host and plugin. */
#include "sergeant_plugin.h"
