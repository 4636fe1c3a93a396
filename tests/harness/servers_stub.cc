#include "harness/servers.h"
