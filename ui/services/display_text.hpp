#pragma once
// Core values as the Studio's labels and messages word them, so every view says them alike.

#include <QString>

namespace reelforge {
class Error;
namespace models {
struct ModelManifest;
}
}  // namespace reelforge

// "context: message", or the message alone when the error has no context.
QString errorText(const reelforge::Error& error);

// The model's native sizes: "square 80×80, vertical 64×112, wide 112×64".
QString modelSizesText(const reelforge::models::ModelManifest& manifest);
