#pragma once
// One renderer interface, two back ends: the text tree a responder reads
// and the JSON document a runbook script parses.
//
// Everything that came from a process (argv, paths, comm, host names) is
// attacker-controlled, and the Report holds it raw, warning messages too:
// the text back ends escape control characters and invalid UTF-8 (once),
// the JSON back end always emits valid UTF-8.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "fold.h"
#include "model.h"
#include "reconstruct.h"

namespace lineage {

inline constexpr int kJsonFormatVersion = 1;

struct TextOptions {
    bool ascii = false;            // |-- and `-- instead of box drawing
    bool color = false;            // ANSI colour (only on a TTY, never with NO_COLOR)
    bool absolute_times = false;   // wall-clock start times instead of offsets
    size_t max_line_bytes = 2048;  // a 1 MiB argv must not flood the terminal
    FoldOptions fold;              // long chains of single children as one line (fold.h)
};

// Where rendered output goes, a piece at a time; false when it cannot take
// more (stdout's reader went away), which stops the rendering.
using OutputSink = std::function<bool(std::string_view)>;

// The pieces a renderer hands its sink: output grows with the trees, which
// an attacker shapes, so a renderer never holds much more than this of it.
inline constexpr size_t kRenderChunkBytes = 1 << 20;

class Renderer {
public:
    virtual ~Renderer() = default;
    // The output, in pieces of about kRenderChunkBytes; false when the sink
    // refused one.
    virtual bool render_to(const Model& model, const Report& report, const OutputSink& sink) const = 0;
    // The whole output as one string.
    std::string render(const Model& model, const Report& report) const {
        std::string out;
        render_to(model, report, [&](std::string_view piece) {
            out += piece;
            return true;
        });
        return out;
    }
};

class TextRenderer : public Renderer {
public:
    explicit TextRenderer(TextOptions options) : options_(options) {}
    bool render_to(const Model& model, const Report& report, const OutputSink& sink) const override;

private:
    TextOptions options_;
};

class JsonRenderer : public Renderer {
public:
    bool render_to(const Model& model, const Report& report, const OutputSink& sink) const override;
};

// Warnings as stderr lines ("lineage: warning: ..."), escaped.
std::string render_warnings_for_stderr(const Report& report);

// An address and port as the text output prints them: 10.0.0.9:5432,
// [::1]:8443 (family 6). Raw bytes: the caller escapes.
std::string address_with_port(const std::string& addr, uint16_t port, int family);

}  // namespace lineage
