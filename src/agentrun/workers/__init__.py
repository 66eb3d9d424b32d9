"""The worker process: the Temporal worker, its activities and workflows, and the run-record
hand-over (an extern function the workflow calls; see ``record_interceptor``)."""
