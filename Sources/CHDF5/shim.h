// Debian's serial HDF5 lives under hdf5/serial; its own headers include each other with quotes.
#include <hdf5/serial/hdf5.h>
