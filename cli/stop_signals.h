#pragma once
// The stop signals of `lineage record` (SIGINT, SIGTERM, SIGHUP).

namespace lineage::cli {

// Installs the handlers, and ignores SIGPIPE: stderr may be a pipe whose
// reader went away, and a message must never kill the recorder.
void catch_stop_signals();

// Whether a stop signal has arrived.
bool stop_requested();

}  // namespace lineage::cli
