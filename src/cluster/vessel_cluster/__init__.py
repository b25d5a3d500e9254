"""The `vessel cluster` helper: the namespace lab and the cluster commands (docs/cluster.md)."""
