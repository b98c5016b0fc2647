#include "services/settlement/settlement_main.h"

int main(int argc, char** argv) { return p402::settlement::Main(argc, argv); }
