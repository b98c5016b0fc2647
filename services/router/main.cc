#include "services/router/router_main.h"

int main(int argc, char** argv) { return p402::router::Main(argc, argv); }
