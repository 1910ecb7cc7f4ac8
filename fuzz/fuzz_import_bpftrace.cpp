// lineage import --from bpftrace over mutated recorder logs (seeds:
// testdata/fuzz/import_bpftrace, the seed article's forms). See
// import_fuzz.h.
#include "import_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    return lineage::fuzz::import_one(data, size, lineage::import_bpftrace);
}
