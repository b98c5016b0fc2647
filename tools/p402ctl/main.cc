// Placeholder (issue 3 in progress): p402ctl.
int main() { return 2; }
