// lineage import --from tetragon over mutated Tetragon JSON events (seeds:
// testdata/fuzz/import_tetragon, Tetragon's own samples). See import_fuzz.h.
#include "import_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    return lineage::fuzz::import_one(data, size, lineage::import_tetragon);
}
