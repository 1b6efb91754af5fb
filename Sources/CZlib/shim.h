#pragma once
#include <zlib.h>

/* deflateInit and inflateInit are macros (they pass the library version and the
 * stream's size); Swift imports functions, so these wrap them. */
static inline int czlib_deflate_init(z_stream *stream, int level) { return deflateInit(stream, level); }
static inline int czlib_inflate_init(z_stream *stream) { return inflateInit(stream); }
