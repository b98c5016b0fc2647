set(P402_WARNINGS -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers)
if("$ENV{CI}" STREQUAL "true")
  list(APPEND P402_WARNINGS -Werror)
endif()
