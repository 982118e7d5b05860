// Rigid co-registration with ITK v4 (see register.hpp).
#include "gmd/io/register.hpp"

#include <itkCommand.h>
#include <itkImageRegistrationMethodv4.h>
#include <itkMattesMutualInformationImageToImageMetricv4.h>
#include <itkRegistrationParameterScalesFromPhysicalShift.h>
#include <itkRegularStepGradientDescentOptimizerv4.h>
#include <itkVersorRigid3DTransform.h>

#include <algorithm>
#include <cmath>

#include "gmd/common/error.hpp"
#include "gmd/io/itk_image.hpp"

namespace gmd::io {
namespace {

using FloatImage = itk::Image<float, 3>;
using Transform = itk::VersorRigid3DTransform<double>;
using Metric = itk::MattesMutualInformationImageToImageMetricv4<FloatImage, FloatImage>;
using Optimizer = itk::RegularStepGradientDescentOptimizerv4<double>;
using Method = itk::ImageRegistrationMethodv4<FloatImage, FloatImage, Transform>;

// Progress: the fraction of all levels' iterations done (a level that stops early jumps to its end).
class ProgressObserver : public itk::Command {
 public:
  using Self = ProgressObserver;
  using Pointer = itk::SmartPointer<Self>;
  itkNewMacro(Self);
  std::function<void(double)> report;
  const Optimizer* optimizer = nullptr;
  int levels = 1, iterations = 1, level = -1, total = 0;
  void Execute(itk::Object* caller, const itk::EventObject& event) override { Execute(static_cast<const itk::Object*>(caller), event); }
  void Execute(const itk::Object*, const itk::EventObject& event) override {
    if (itk::MultiResolutionIterationEvent().CheckEvent(&event)) {
      ++level;
      if (report) report(std::min(1.0, static_cast<double>(level) / levels));
    } else if (itk::IterationEvent().CheckEvent(&event) && optimizer) {
      ++total;
      const double in_level = std::min(1.0, static_cast<double>(optimizer->GetCurrentIteration() + 1) / iterations);
      if (report) report(std::min(1.0, (std::max(level, 0) + in_level) / levels));
    }
  }
};

void check_usable(const Image& img, const char* what) {
  if (img.voxels.empty() || img.geom.voxel_count() != img.voxels.size())
    throw InputError(std::string("registration: the ") + what + " image is empty");
  if (std::all_of(img.voxels.begin(), img.voxels.end(), [](float v) { return v == 0.0f; }))
    throw InputError(std::string("registration: the ") + what + " image is all zero");
}

}  // namespace

Registration register_rigid(const Image& fixed, const Image& moving, const RegistrationOptions& opt,
                            const std::function<void(double)>& progress) {
  check_usable(fixed, "reference");
  check_usable(moving, "moving");
  // No level coarser than about 12 voxels along the reference's shortest side (a small case gets fewer levels).
  const std::size_t shortest = *std::min_element(fixed.geom.size.begin(), fixed.geom.size.end());
  int levels = std::clamp(opt.levels, 1, 5);
  while (levels > 1 && shortest / (std::size_t{1} << (levels - 1)) < 12) --levels;
  auto f = itk_view(fixed);
  auto m = itk_view(moving);

  // Start: scanner coordinates, rotating about the reference's centre.
  auto initial = Transform::New();
  initial->SetIdentity();
  Transform::CenterType centre;
  const Geometry& g = fixed.geom;
  for (int i = 0; i < 3; ++i) {
    centre[i] = g.origin[i];
    for (int j = 0; j < 3; ++j) centre[i] += g.direction[i * 3 + j] * g.spacing[j] * (static_cast<double>(g.size[j]) - 1) / 2;
  }
  initial->SetCenter(centre);

  auto metric = Metric::New();
  metric->SetNumberOfHistogramBins(static_cast<itk::SizeValueType>(std::max(8, opt.bins)));
  metric->SetUseMovingImageGradientFilter(false);
  metric->SetUseFixedImageGradientFilter(false);

  auto optimizer = Optimizer::New();
  optimizer->SetLearningRate(1.0);
  optimizer->SetMinimumStepLength(1e-3);
  optimizer->SetRelaxationFactor(0.6);
  optimizer->SetNumberOfIterations(static_cast<itk::SizeValueType>(std::max(1, opt.iterations)));
  optimizer->SetGradientMagnitudeTolerance(1e-6);
  optimizer->SetReturnBestParametersAndValue(true);
  auto scales = itk::RegistrationParameterScalesFromPhysicalShift<Metric>::New();
  scales->SetMetric(metric);
  optimizer->SetScalesEstimator(scales);
  optimizer->SetDoEstimateLearningRateOnce(true);

  auto method = Method::New();
  method->SetFixedImage(f);
  method->SetMovingImage(m);
  method->SetMetric(metric);
  method->SetOptimizer(optimizer);
  method->SetInitialTransform(initial);
  method->InPlaceOn();
  method->SetNumberOfLevels(static_cast<itk::SizeValueType>(levels));
  Method::ShrinkFactorsArrayType shrink(static_cast<unsigned>(levels));
  Method::SmoothingSigmasArrayType sigmas(static_cast<unsigned>(levels));
  Method::MetricSamplingPercentageArrayType percent(static_cast<unsigned>(levels));
  const double voxels = static_cast<double>(fixed.geom.voxel_count());
  for (int l = 0; l < levels; ++l) {
    const int factor = 1 << (levels - 1 - l);
    shrink[static_cast<unsigned>(l)] = static_cast<itk::SizeValueType>(factor);
    sigmas[static_cast<unsigned>(l)] = static_cast<double>(factor) / 2.0;
    const double at_level = voxels / (static_cast<double>(factor) * factor * factor);
    percent[static_cast<unsigned>(l)] = std::clamp(opt.samples / std::max(at_level, 1.0), 0.001, 1.0);
  }
  sigmas[static_cast<unsigned>(levels - 1)] = 0;
  method->SetShrinkFactorsPerLevel(shrink);
  method->SetSmoothingSigmasPerLevel(sigmas);
  method->SetSmoothingSigmasAreSpecifiedInPhysicalUnits(false);
  method->SetMetricSamplingStrategy(Method::MetricSamplingStrategyType::RANDOM);
  method->SetMetricSamplingPercentagePerLevel(percent);
  method->MetricSamplingReinitializeSeed(static_cast<int>(opt.seed % 2147483647u));

  auto observer = ProgressObserver::New();
  observer->report = progress;
  observer->optimizer = optimizer;
  observer->levels = levels;
  observer->iterations = std::max(1, opt.iterations);
  optimizer->AddObserver(itk::IterationEvent(), observer);
  method->AddObserver(itk::MultiResolutionIterationEvent(), observer);

  try {
    method->Update();
  } catch (const itk::ExceptionObject& e) {
    throw InputError(std::string("registration failed: ") + e.GetDescription());
  }
  const Transform* t = method->GetTransform();
  Registration r;
  const auto& mat = t->GetMatrix();
  for (unsigned i = 0; i < 3; ++i) {
    for (unsigned j = 0; j < 3; ++j) r.transform.rotation[i * 3 + j] = mat(i, j);
    r.transform.centre[i] = t->GetCenter()[i];
    r.transform.translation[i] = t->GetTranslation()[i];
  }
  r.metric = optimizer->GetValue();
  r.iterations = observer->total;
  r.stop = optimizer->GetStopConditionDescription();
  if (progress) progress(1.0);
  return r;
}

}  // namespace gmd::io
