// optim.cpp: fused SGD, Adam and AdamW updates. (Being written: registers nothing yet.)
#include "common.h"

namespace tt {

void register_optim(py::module_& m) { (void)m; }

}  // namespace tt
