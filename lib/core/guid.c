/* placeholder: being written */
#include <wmiev/wmiev.h>
