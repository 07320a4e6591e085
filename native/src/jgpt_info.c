#include "jgpt.h"

int jgpt_abi_version(void) { return JGPT_ABI_VERSION; }
