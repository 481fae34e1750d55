"""Coverage-guided fuzzing of zmtp.protocol (see fuzz/README.md)."""
