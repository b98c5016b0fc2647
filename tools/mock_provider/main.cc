#include "tools/mock_provider/mock_main.h"

int main(int argc, char** argv) { return p402::mock_provider::Main(argc, argv); }
