// libpng's simplified API (png_image_*): errors are reported in png_image.message, never by longjmp into Swift.
#include <png.h>
