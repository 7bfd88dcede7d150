"""One module per paper table or figure; each writes Markdown + CSV (and PNG) into reports/."""
