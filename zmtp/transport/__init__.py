"""Transports: how pipes reach peers (tcp and ipc streams carrying ZMTP, and inproc)."""
