// lineage import --from lineage over mutated export lines (seeds:
// testdata/fuzz/import_lineage, exports of fixture journals with every kind
// of line, schema version 8's exec_file, file_hash and listen included).
// See import_fuzz.h.
#include "import_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    return lineage::fuzz::import_one(data, size, lineage::import_lineage);
}
