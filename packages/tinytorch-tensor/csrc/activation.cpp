// activation.cpp: GELU. (Being written: registers nothing yet.)
#include "common.h"

namespace tt {

void register_activation(py::module_& m) { (void)m; }

}  // namespace tt
