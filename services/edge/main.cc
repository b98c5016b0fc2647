#include "services/edge/edge_main.h"

int main(int argc, char** argv) { return p402::edge::Main(argc, argv); }
