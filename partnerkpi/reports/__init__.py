"""Reports: the JSON document (docs/output-schema.md), the CSV export and the terminal scorecard."""
