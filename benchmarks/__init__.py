"""Everything that runs experiments: tables and figures now, training runners next."""
