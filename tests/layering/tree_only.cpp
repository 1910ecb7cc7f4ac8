// Links the tree stages alone (see CMakeLists.txt) and uses them once, so
// that the test also shows they work without the journal: a model built by
// hand, a report, both renderers.
#include <cstdio>

#include "model.h"
#include "reconstruct.h"
#include "render.h"

int main() {
    lineage::Model model;
    lineage::RunRecord run;
    run.journal = "synthetic";
    run.run_id = 1;
    run.boot_id = "boot";
    run.node = "node";
    run.started_ns = 1'000'000'000;
    run.started_wall_ns = 1'700'000'000'000'000'000;
    model.add_run(run);
    lineage::ExecEvent exec;
    exec.time_ns = 2'000'000'000;
    exec.proc = {42, 1'500'000'000};
    exec.binary = "/bin/true";
    exec.argv = std::string("true\0", 5);
    model.add_exec("boot", exec);
    model.finish();
    const lineage::Report report = lineage::build_report(model, lineage::Query{});
    const std::string text = lineage::TextRenderer(lineage::TextOptions{}).render(model, report);
    const std::string json = lineage::JsonRenderer().render(model, report);
    if (report.matched != 1 || text.find("true") == std::string::npos ||
        json.find("\"pid\": 42") == std::string::npos) {
        std::fputs("the tree stages gave an unexpected answer\n", stderr);
        return 1;
    }
    return 0;
}
