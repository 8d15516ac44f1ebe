// runtime.cpp: which instruction set and how many threads the kernels use, and build facts.
//
// Runtime ISA choice: one binary (one wheel) must run on any x86-64 CPU, so the fast kernels are
// compiled in separate files with their own -m flags (see CMakeLists.txt) and never with
// -march=native. At import we ask the CPU what it supports (__builtin_cpu_supports also checks
// that the OS saves the wide registers) and point `g_kernel` at the best kernel that is safe to
// run. Tests and benchmarks can switch with set_isa(); TINYTORCH_ISA=avx2 (etc.) in the
// environment picks the starting ISA the same way.
#include <atomic>
#include <cstdlib>
#include <string>
#include <vector>

#include "build_config.h"
#include "common.h"
#include "gemm.h"
#include "simd.h"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace tt {

namespace {

struct IsaEntry {
    const char* name;
    const GemmKernel& (*kernel)();
    bool (*supported)();
};

#if defined(TT_X86_KERNELS)
bool cpu_avx512() {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("fma");
}
bool cpu_avx2() {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif
bool cpu_any() { return true; }

// Best first.
const std::vector<IsaEntry>& isa_table() {
    static const std::vector<IsaEntry> table = {
#if defined(TT_X86_KERNELS)
        {"avx512", gemm_kernel_avx512, cpu_avx512},
        {"avx2", gemm_kernel_avx2, cpu_avx2},
#endif
        {"scalar", gemm_kernel_scalar, cpu_any},
    };
    return table;
}

const GemmKernel* best_kernel() {
    if (const char* env = std::getenv("TINYTORCH_ISA")) {
        for (const auto& e : isa_table())
            if (std::string(env) == e.name && e.supported()) return &e.kernel();
    }
    for (const auto& e : isa_table())
        if (e.supported()) return &e.kernel();
    return &gemm_kernel_scalar();
}

std::atomic<const GemmKernel*> g_kernel{nullptr};

int default_threads() {
#if defined(_OPENMP)
    return omp_get_max_threads();  // honours OMP_NUM_THREADS
#else
    return 1;
#endif
}

std::atomic<int> g_threads{0};

std::vector<std::string> available_isas() {
    std::vector<std::string> out;
    for (const auto& e : isa_table())
        if (e.supported()) out.emplace_back(e.name);
    return out;
}

std::vector<std::string> compiled_isas() {
    std::vector<std::string> out;
    for (const auto& e : isa_table()) out.emplace_back(e.name);
    return out;
}

void set_isa(const std::string& name) {
    for (const auto& e : isa_table()) {
        if (name != e.name) continue;
        if (!e.supported())
            throw py::value_error("set_isa: '" + name + "' is not supported by this CPU");
        g_kernel.store(&e.kernel());
        return;
    }
    std::string known;
    for (const auto& n : compiled_isas()) known += (known.empty() ? "" : ", ") + n;
    throw py::value_error("set_isa: unknown ISA '" + name + "' (this build has: " + known + ")");
}

void set_num_threads(int n) {
    if (n < 1) throw py::value_error("set_num_threads: n must be >= 1, got " + std::to_string(n));
    g_threads.store(n);
}

// Which TT_CLONES version (simd.h) of the memory-bound kernels the dynamic loader picked: it
// resolves each clone with the same CPU test as this.
std::string clone_isa() {
#if defined(TT_HAVE_CLONES)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("x86-64-v4")) return "x86-64-v4";
    if (__builtin_cpu_supports("x86-64-v3")) return "x86-64-v3";
    return "x86-64 (baseline)";
#else
    return "single build (no clones on this platform)";
#endif
}

py::dict build_info() {
    py::dict d;
    d["compiler"] = std::string(TT_COMPILER_ID) + " " + TT_COMPILER_VERSION;
    d["compiler_version_string"] = __VERSION__;
    d["cxx_standard"] = static_cast<long>(__cplusplus);
    d["build_type"] = TT_BUILD_TYPE;
    d["cxx_flags"] = TT_CXX_FLAGS;
    d["avx512_flags"] = TT_AVX512_FLAGS;
    d["avx2_flags"] = TT_AVX2_FLAGS;
    d["target"] = TT_SYSTEM_PROCESSOR;
#if defined(_OPENMP)
    d["openmp"] = true;
    d["openmp_version"] = static_cast<long>(_OPENMP);  // yyyymm of the spec, e.g. 201511 = 4.5
#else
    d["openmp"] = false;
    d["openmp_version"] = py::none();
#endif
    d["pybind11_version"] = std::to_string(PYBIND11_VERSION_MAJOR) + "." +
                            std::to_string(PYBIND11_VERSION_MINOR) + "." +
                            std::to_string(PYBIND11_VERSION_PATCH);
    d["compiled_isas"] = compiled_isas();
    d["available_isas"] = available_isas();
    d["isa"] = active_gemm_kernel().name;
    d["num_threads"] = active_num_threads();
    d["default_threads"] = default_threads();
    const char* env = std::getenv("TINYTORCH_ISA");
    d["isa_env"] = env ? py::cast(std::string(env)) : py::none();
    py::dict feats;
#if defined(__x86_64__)
    __builtin_cpu_init();
    feats["sse4_2"] = static_cast<bool>(__builtin_cpu_supports("sse4.2"));
    feats["avx"] = static_cast<bool>(__builtin_cpu_supports("avx"));
    feats["avx2"] = static_cast<bool>(__builtin_cpu_supports("avx2"));
    feats["fma"] = static_cast<bool>(__builtin_cpu_supports("fma"));
    feats["avx512f"] = static_cast<bool>(__builtin_cpu_supports("avx512f"));
    feats["avx512bw"] = static_cast<bool>(__builtin_cpu_supports("avx512bw"));
    feats["avx512dq"] = static_cast<bool>(__builtin_cpu_supports("avx512dq"));
    feats["avx512vl"] = static_cast<bool>(__builtin_cpu_supports("avx512vl"));
    feats["avx512vnni"] = static_cast<bool>(__builtin_cpu_supports("avx512vnni"));
#endif
    d["cpu_features"] = feats;
    d["clone_isa"] = clone_isa();
    return d;
}

}  // namespace

const GemmKernel& active_gemm_kernel() {
    const GemmKernel* k = g_kernel.load();
    if (!k) {
        k = best_kernel();
        g_kernel.store(k);
    }
    return *k;
}

int active_num_threads() {
#if defined(_OPENMP)
    int n = g_threads.load();
    if (n <= 0) {
        n = default_threads();
        g_threads.store(n);
    }
    return n;
#else
    return 1;
#endif
}

void register_runtime(py::module_& m) {
    m.def(
        "isa", [] { return std::string(active_gemm_kernel().name); },
        "The instruction set the kernels use now: 'avx512', 'avx2' or 'scalar'.");
    m.def("available_isas", &available_isas,
          "The instruction sets this build has and this CPU supports, best first.");
    m.def("set_isa", &set_isa, py::arg("name"),
          "Switch the kernels to another ISA from available_isas() (for tests and benchmarks).\n"
          "Raises ValueError for an unknown name or one this CPU does not support.");
    m.def("num_threads", &active_num_threads,
          "Threads the kernels use (1 when the build has no OpenMP).");
    m.def("set_num_threads", &set_num_threads, py::arg("n"),
          "Set the number of threads the kernels use (n >= 1). Without OpenMP the kernels stay\n"
          "single-threaded whatever n is.");
    m.def(
        "has_openmp",
        [] {
#if defined(_OPENMP)
            return true;
#else
            return false;
#endif
        },
        "Whether this build was compiled with OpenMP.");
    m.def("build_info", &build_info,
          "Facts about this build and CPU (compiler, flags, OpenMP, ISAs) for `tito system info`.");
    active_gemm_kernel();  // pick the ISA at import, so isa() never races
}

}  // namespace tt
