// embedding.cpp: embedding gather and scatter-add. (Being written: registers nothing yet.)
#include "common.h"

namespace tt {

void register_embedding(py::module_& m) { (void)m; }

}  // namespace tt
