"""DataInsights domain layer: storage, ingest, analysis. Never imports Dash."""
