// p402ctl: the management API on the command line (tools/p402ctl/README.md).
#include "tools/p402ctl/ctl_commands.h"

int main(int argc, char** argv) { return p402::ctl::Main(argc, argv); }
