// pool.cpp: max and average pooling. (Being written: registers nothing yet.)
#include "common.h"

namespace tt {

void register_pool(py::module_& m) { (void)m; }

}  // namespace tt
