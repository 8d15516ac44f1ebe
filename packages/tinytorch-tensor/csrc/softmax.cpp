// softmax.cpp: softmax, log-softmax, fused softmax-cross-entropy. (Being written: registers nothing yet.)
#include "common.h"

namespace tt {

void register_softmax(py::module_& m) { (void)m; }

}  // namespace tt
