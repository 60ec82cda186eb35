"""The fine-tuning recipe (``recipe``) and what it needs: the objects built from a config (``build``), the
pre-trained body cache (``bodies``), resuming (``resume``), the settings line (``announce``), and a finished
run loaded back for predict and export (``finished_run``)."""
