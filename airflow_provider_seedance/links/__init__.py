"""Extra links of the Seedance operators and sensor (the gateway console, the stored video)."""
