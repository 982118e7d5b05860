#pragma once
// The records of RUN/metrics.jsonl (one JSON object per line), named once for the trainer that writes them and
// everything that reads them: the training panel's MetricsLog (and so gmd-plot) and tools/collect_results.py, whose
// test checks its key list against this file. docs/training.md shows an example of each record.
//
//   {"type":"config", "config":{TrainConfig}, "method", "subset_names":[...], "parameters", "device", "threads", "amp",
//    "train_cases", "val_cases", "world_size", "dist_backend"}              once, at the start of a run (a resume
//                                                                           in another world size: see the steps)
//   {"type":"step", "step", "loss", "losses":{subset: loss}, "subsets":[...], "lr", "time_s", "data_s", "elapsed_s",
//    "world_size", "comm_s",
//    "gmd":{"cos":[[k x k]], "cos_after":[[k x k]], "norms":[k], "weights":[k], "conflicts"}}   every step; "gmd"
//                                                                           only for ds-gmd (rows follow "subsets")
//   {"type":"val", "step", "dice":{"WT","TC","ET"}, "cases", "dice_subsets":{subset: [WT,TC,ET]}, "time_s"}
//                                                                           every val_every steps and at the end
// Readers ignore unknown keys and record types, so keys may be added; renaming one breaks every reader (and the
// tests say so).
#include <array>

namespace gmd::metrics {

inline constexpr const char* kType = "type";
inline constexpr const char* kConfigRecord = "config";
inline constexpr const char* kStepRecord = "step";
inline constexpr const char* kValRecord = "val";

// "config" record
inline constexpr const char* kConfig = "config";
inline constexpr const char* kMethod = "method";
inline constexpr const char* kSubsetNames = "subset_names";
inline constexpr const char* kParameters = "parameters";
inline constexpr const char* kDevice = "device";
inline constexpr const char* kThreads = "threads";
inline constexpr const char* kAmp = "amp";
inline constexpr const char* kTrainCases = "train_cases";
inline constexpr const char* kValCases = "val_cases";
inline constexpr const char* kWorldSize = "world_size";      // processes training together (config and step records)
inline constexpr const char* kDistBackend = "dist_backend";  // gloo | nccl | none (one process)

// "step" and "val" records
inline constexpr const char* kStep = "step";
inline constexpr const char* kTimeS = "time_s";
// "step" record
inline constexpr const char* kLoss = "loss";        // mean of the step's subset losses
inline constexpr const char* kLosses = "losses";    // {subset name: loss}
inline constexpr const char* kSubsets = "subsets";  // the step's subsets, in the order of the gmd rows
inline constexpr const char* kLr = "lr";
inline constexpr const char* kDataS = "data_s";       // patch sampling time of the step
inline constexpr const char* kElapsedS = "elapsed_s"; // since the start of the run (resumes included)
inline constexpr const char* kCommS = "comm_s";       // rank 0's time in all-reduces during the step (0 in one process)
inline constexpr const char* kGmd = "gmd";
// the "gmd" object of a step record
inline constexpr const char* kCos = "cos";              // k x k cosines before the projection
inline constexpr const char* kCosAfter = "cos_after";   // k x k cosines after it
inline constexpr const char* kNorms = "norms";          // k gradient norms
inline constexpr const char* kWeights = "weights";      // k GMD weights
inline constexpr const char* kConflicts = "conflicts";  // pairs with a negative cosine
// "val" record
inline constexpr const char* kDice = "dice";                 // {"WT","TC","ET"} on the validation cases
inline constexpr const char* kCases = "cases";               // validation cases
inline constexpr const char* kDiceSubsets = "dice_subsets";  // {subset name: [WT, TC, ET]}

// Every key of each record type (optional ones included), for the tests that hold writer and readers to them.
inline constexpr std::array<const char*, 12> kConfigKeys{kType,     kConfig,   kMethod,    kSubsetNames,
                                                         kParameters, kDevice, kThreads, kAmp,
                                                         kTrainCases, kValCases, kWorldSize, kDistBackend};
inline constexpr std::array<const char*, 12> kStepKeys{kType,  kStep,  kLoss,     kLosses,    kSubsets, kLr,
                                                       kTimeS, kDataS, kElapsedS, kWorldSize, kCommS,   kGmd};
inline constexpr std::array<const char*, 5> kGmdKeys{kCos, kCosAfter, kNorms, kWeights, kConflicts};
inline constexpr std::array<const char*, 6> kValKeys{kType, kStep, kDice, kCases, kDiceSubsets, kTimeS};

}  // namespace gmd::metrics
