// attention.cpp: fused causal attention. (Being written: registers nothing yet.)
#include "common.h"

namespace tt {

void register_attention(py::module_& m) { (void)m; }

}  // namespace tt
