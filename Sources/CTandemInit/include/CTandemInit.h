#pragma once
int tandem_init_placeholder(void);
