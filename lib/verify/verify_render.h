#pragma once
// verify's output, as reconstruct's (render.h): one renderer interface, two
// back ends. The text is for people; the JSON document's structure is
// documented in man/lineage-verify.1 (JSON OUTPUT) and
// schema/verify.schema.json.
//
// Paths, node names, reasons and SQLite's messages are bytes anyone with
// the file could have written: the text back end escapes them, the JSON
// back end always emits valid UTF-8.

#include <string>

#include "verify.h"

namespace lineage {

class VerifyRenderer {
public:
    virtual ~VerifyRenderer() = default;
    virtual std::string render(const VerifyReport& report) const = 0;
};

class VerifyTextRenderer : public VerifyRenderer {
public:
    std::string render(const VerifyReport& report) const override;
};

class VerifyJsonRenderer : public VerifyRenderer {
public:
    std::string render(const VerifyReport& report) const override;
};

// The sentences the text output prints and the JSON output carries as
// "text": how a journal ends, and what became of an anchor.
std::string journal_end_text(const JournalVerdict& v);
std::string anchor_text(const AnchorResult& r);

}  // namespace lineage
