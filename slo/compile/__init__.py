"""Pure compilers: validated model in, bundle files (as data) out. No I/O, no clock."""
