#include "services/policy/policy_main.h"

int main(int argc, char** argv) { return p402::policy::Main(argc, argv); }
