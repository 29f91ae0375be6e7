"""Alibaba Cloud's RPC protocol: parameters, signatures, errors, responses and dispatch."""
