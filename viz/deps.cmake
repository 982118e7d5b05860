# Qt 6 + VTK for viz/, gui/, app/gmd-studio/ and tests/gui/. Included from each of those
# directories because imported targets from find_package() are directory-scoped.
# Pitfalls (see docs/gui.md): Debian's VTK config needs MPI::MPI_C (so C is enabled and MPI found
# first), and find_package(VTK) must always list components (without them it looks for Qt 5).
find_package(Qt6 REQUIRED COMPONENTS Core Gui Widgets OpenGL OpenGLWidgets Concurrent Charts Svg)
find_package(MPI COMPONENTS C)
find_package(VTK REQUIRED COMPONENTS
  CommonCore CommonDataModel CommonExecutionModel CommonMath CommonTransforms
  RenderingCore RenderingOpenGL2 RenderingUI RenderingFreeType RenderingAnnotation
  InteractionStyle InteractionWidgets
  FiltersCore FiltersGeneral FiltersModeling FiltersSources
  ImagingCore ImagingGeneral IOImage)
