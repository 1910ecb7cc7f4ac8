#pragma once
// reconstruct --new: which processes ran a binary, and which connects went
// to a destination, never seen before in their pod in the journals' whole
// span. The answer asks (precedent_query), the journals answer through
// their indexes (JournalReader::find_precedents), the answer is marked
// (mark_new). "Before" is wall-clock time, as each boot's clock samples map
// it: across runs and boots, not only within the window.
#include "model.h"
#include "precedents.h"
#include "reconstruct.h"

namespace lineage {

// The binaries and destinations of every process in the report's trees,
// each with the earliest time the answer has it; a pod's key is its UID,
// the host's "" (binaries only: the host's connects are not compared).
PrecedentQuery precedent_query(const Model& model, const Report& report);

// Marks every image and connect of the report's trees (TreeNode::new_images,
// new_connects) against what the journals hold before it, and says since
// when they hold it (Report::new_since). An image or connect from before
// that time is not compared.
void mark_new(const Model& model, const Precedents& found, Report& report);

// The pod an image was exec'd in (its exec row's, or the snapshot's for an
// image /proc showed); "" outside pods.
std::string image_pod(const Process& p, const ExecImage& img);

}  // namespace lineage
