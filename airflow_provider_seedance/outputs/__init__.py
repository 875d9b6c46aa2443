"""What lands in object storage beside a video: the names (``layout``), claims, manifests, the store's
reads and writes, the download reader, and the run report."""
