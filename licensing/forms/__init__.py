"""Web forms, one module per subject. They parse and show; services judge."""
