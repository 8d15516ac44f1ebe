// conv.cpp: conv2d forward, grad input, grad weight. (Being written: registers nothing yet.)
#include "common.h"

namespace tt {

void register_conv(py::module_& m) { (void)m; }

}  // namespace tt
