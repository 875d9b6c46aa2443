"""TaskFlow decorators of the Seedance provider (``@task.seedance``)."""
