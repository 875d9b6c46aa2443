"""Media inputs from object storage: read and check them (headers only), then deliver them to a gateway."""
