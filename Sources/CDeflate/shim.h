// libdeflate: fast DEFLATE/zlib compression, used to compress HDF5 chunks in parallel (standard zlib streams,
// so HDF5's own gzip filter reads them back).
#include <libdeflate.h>
