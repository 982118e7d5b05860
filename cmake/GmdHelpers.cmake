# gmd_use_tcmalloc(<target>): link tcmalloc (by full path, not as-needed) into an
# executable that runs LibTorch. Measured about 10x faster LibTorch on 2 cores.
find_library(GMD_TCMALLOC_LIB NAMES libtcmalloc_minimal.so.4 tcmalloc_minimal
             PATHS /usr/lib/x86_64-linux-gnu)
function(gmd_use_tcmalloc tgt)
  if(GMD_USE_TCMALLOC AND GMD_TCMALLOC_LIB)
    target_link_libraries(${tgt} PRIVATE "-Wl,--no-as-needed" ${GMD_TCMALLOC_LIB} "-Wl,--as-needed")
  elseif(GMD_USE_TCMALLOC)
    message(WARNING "tcmalloc not found: LibTorch will be much slower on CPU (apt install libtcmalloc-minimal4)")
  endif()
endfunction()

function(gmd_warnings tgt)
  target_compile_options(${tgt} PRIVATE -Wall -Wextra -Wno-unused-parameter)
endfunction()
