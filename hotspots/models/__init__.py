"""The statistics: KDE, Gi*, emerging hot spots, clusters, near repeats, back-tests, disruption."""
