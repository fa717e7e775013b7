"""Documents rendered for people (PDFs), one module per subject, drawn from snapshots."""
