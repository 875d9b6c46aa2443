"""What a run tells the world about itself: OpenLineage facets, metrics, and asset events for its videos."""
