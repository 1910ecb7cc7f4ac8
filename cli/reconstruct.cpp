#include "commands.h"
namespace lineage::cli {
Runner add_reconstruct(CLI::App& app) {
    app.add_subcommand("reconstruct", "Rebuild ancestry trees from journals");
    return [] { return 2; };
}
}  // namespace lineage::cli
