#pragma once
// One renderer interface, two back ends: the text tree a responder reads
// and the JSON document a runbook script parses.
//
// Everything that came from a process (argv, paths, comm, host names) is
// attacker-controlled, and the Report holds it raw, warning messages too:
// the text back ends escape control characters and invalid UTF-8 (once),
// the JSON back end always emits valid UTF-8.

#include <memory>
#include <string>

#include "fold.h"
#include "model.h"
#include "reconstruct.h"

namespace lineage {

inline constexpr int kJsonFormatVersion = 1;

struct TextOptions {
    bool ascii = false;           // |-- and `-- instead of box drawing
    bool color = false;           // ANSI colour (only on a TTY, never with NO_COLOR)
    bool absolute_times = false;  // wall-clock start times instead of offsets
    size_t max_line_bytes = 2048; // a 1 MiB argv must not flood the terminal
    FoldOptions fold;             // long chains of single children as one line (fold.h)
};

class Renderer {
public:
    virtual ~Renderer() = default;
    virtual std::string render(const Model& model, const Report& report) const = 0;
};

class TextRenderer : public Renderer {
public:
    explicit TextRenderer(TextOptions options) : options_(options) {}
    std::string render(const Model& model, const Report& report) const override;

private:
    TextOptions options_;
};

class JsonRenderer : public Renderer {
public:
    std::string render(const Model& model, const Report& report) const override;
};

// Warnings as stderr lines ("lineage: warning: ..."), escaped.
std::string render_warnings_for_stderr(const Report& report);

}  // namespace lineage
