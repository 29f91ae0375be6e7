"""The data plane around the decoders: receive, bind flows to CEN resources, window, flush."""
