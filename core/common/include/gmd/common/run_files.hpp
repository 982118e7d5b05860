#pragma once
// The files of a training run folder, named once for everything that writes or reads one: the trainer (engine), the
// model IO, the pipeline's model lookup and evaluation, the CLI, the training panel and gmd-plot. (docs/training.md
// describes their contents; tools/collect_results.py reads the same names.)
namespace gmd::run_files {

inline constexpr const char* kConfig = "config.json";       // the training configuration (TrainConfig::to_json)
inline constexpr const char* kMetrics = "metrics.jsonl";    // one JSON record per step / validation / event
inline constexpr const char* kCheckpoint = "checkpoint.pt"; // resumable state (gmd train --resume)
inline constexpr const char* kWeights = "model.pt";         // the trained model's weights
inline constexpr const char* kCard = "model.json";          // the model card (method, modalities, accuracy table...)

}  // namespace gmd::run_files
