int tandem_init_placeholder(void) { return 0; }
