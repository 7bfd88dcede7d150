"""Algorithm 1 against its references, no training: Tables 2-4, Figure 2, the official solver."""
