"""Review before publish: what a reviewer is shown, what each answer does, and where takes and published
videos go. The Airflow side (a human-in-the-loop task per take) is ``operators.review``."""
